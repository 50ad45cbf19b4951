"""Run the simulated rig and the monitor as separate ROS processes and record the result.

python -m pm_monitor.demo.run_demo [--duration 240] [--speed 3] [--schedule FILE] [--out DIR]

Starts exactly what launch/test_rig.launch.py starts (same NodeSpecs), prints each alert as
it arrives, and leaves alerts (JSON lines), heatmap PNGs, a timeline PNG and a summary in
the output folder.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import rclpy

from pm_monitor.core.types import HealthState
from pm_monitor.demo.cpu_limit import cpu_seconds, starve
from pm_monitor.launch_plan import NodeSpec, share_dir, simulated_rig_plan
from pm_monitor.msg import Alert
from pm_monitor.nodes.recorder_node import RunRecorder

EVENTS = {Alert.EVENT_RAISED: "RAISED", Alert.EVENT_UPDATED: "UPDATE",
          Alert.EVENT_ESCALATED: "ESCALATED", Alert.EVENT_CLEARED: "CLEARED"}


def executable_path(spec: NodeSpec) -> Path:
    """lib/<package>/<executable> in the install prefix that holds share/<package>."""
    path = share_dir().parents[1] / "lib" / spec.package / spec.executable
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: build the package first (tools/setup_env.sh)")
    return path


def start_node(spec: NodeSpec, log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"{spec.name}.log", "w")  # noqa: SIM115 (lives as long as the process)
    return subprocess.Popen([sys.executable, str(executable_path(spec)), *spec.ros_args()],
                            stdout=log, stderr=subprocess.STDOUT)


def print_alert(msg: Alert) -> None:
    where = f" at {msg.location} px({msg.hotspot_x},{msg.hotspot_y})" if msg.localized else ""
    rul = (f" RUL {msg.rul_s:.0f} s [{msg.rul_lower_s:.0f}, {msg.rul_upper_s:.0f}]"
           if msg.rul_known else "")
    print(f"ALERT {EVENTS.get(msg.event, msg.event):9s} {HealthState(msg.state).name:11s} "
          f"{msg.fault_type:10s}{where}{rul}  score {msg.anomaly_score:.2f}/"
          f"{msg.anomaly_threshold:.2f}  id {msg.alert_id}", flush=True)


def spin_until(node, condition, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return True
        rclpy.spin_once(node, timeout_sec=0.05)
    return condition()


def stop(process: subprocess.Popen, timeout_s: float = 10.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def prepare_output(out_dir: Path) -> tuple[Path, Path]:
    """(log dir, alert log path) of a demo run in out_dir. The alert log starts empty: the
    monitor replays its log at start-up (alarm states survive restarts), and a previous run's
    alarms are not this run's; heatmap PNGs of an earlier run are removed too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = out_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    alert_log = out_dir / "alert_log.jsonl"
    alert_log.unlink(missing_ok=True)
    # the monitor's references and RUL state survive restarts too: a demo run is a new asset
    shutil.rmtree(out_dir / "references", ignore_errors=True)
    shutil.rmtree(out_dir / "heatmaps", ignore_errors=True)
    return log_dir, alert_log.resolve()


def start_monitor(spec: NodeSpec, recorder, log_dir: Path) -> subprocess.Popen:
    """Start the monitor and wait until it publishes (it loads models first), so the data
    source started next loses nothing to start-up or discovery."""
    process = start_node(spec, log_dir)
    if not spin_until(recorder, lambda: recorder.count_publishers("/pm_monitor/alert") > 0
                      or process.poll() is not None, 120.0):
        raise RuntimeError("monitor did not come up within 120 s")
    if process.poll() is not None:
        raise RuntimeError(f"monitor exited: see {log_dir / (spec.name + '.log')}")
    spin_until(recorder, lambda: False, 1.0)  # let discovery settle
    return process


def play_to_end(recorder, processes: dict[str, subprocess.Popen], name: str, spec: NodeSpec,
                log_dir: Path, expected_wall_s: float, tail_s: float = 3.0) -> None:
    """Start the data source `spec` (registered in `processes` at once, so the caller's
    cleanup stops it too), spin until it exits (at most 3x the expected time + 60 s), then
    `tail_s` more for the last windows, explanations and heatmaps."""
    processes[name] = start_node(spec, log_dir)
    spin_until(recorder, lambda: processes[name].poll() is not None, expected_wall_s * 3 + 60)
    spin_until(recorder, lambda: False, tail_s)


def record_run(monitor_spec: NodeSpec, source: str, source_spec: NodeSpec, log_dir: Path,
               expected_wall_s: float, banner: str, starve_monitor: bool = False,
               ) -> tuple[RunRecorder, dict[str, int], float | None]:
    """rclpy up, the monitor started, then the data source `source` played to the end; every
    process is stopped, also on an error. Returns the recorder (the caller writes the run's
    results, then destroys it), the exit codes by process name and, with starve_monitor
    (about a fifth of one core: pinned, reniced, a busy process beside it, see
    pm_monitor.demo.cpu_limit), the CPU share the monitor got (CPU s / wall s)."""
    rclpy.init()
    recorder = RunRecorder(on_alert=print_alert)
    processes: dict[str, subprocess.Popen] = {}
    competitor = None
    share = None
    try:
        processes["monitor"] = start_monitor(monitor_spec, recorder, log_dir)
        if starve_monitor:
            competitor = starve(processes["monitor"].pid)
            cpu_start, wall_start = cpu_seconds(processes["monitor"].pid), time.monotonic()
        print(banner, flush=True)
        play_to_end(recorder, processes, source, source_spec, log_dir, expected_wall_s)
        if competitor is not None:
            share = ((cpu_seconds(processes["monitor"].pid) - cpu_start)
                     / (time.monotonic() - wall_start))
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
        codes = {name: stop(p) for name, p in processes.items()}
    return recorder, codes, share


def run(duration_s: float, speed: float, schedule: str, seed: int, out_dir: Path,
        starve_monitor: bool = False) -> dict:
    """starve_monitor: the monitor gets about a fifth of one core, as on a robot whose CPU
    is busy (the summary gets `monitor_cpu_share`, what it really got)."""
    log_dir, alert_log = prepare_output(out_dir)
    rig_spec, monitor_spec = simulated_rig_plan(
        schedule, speed, duration_s, seed, wait_for_subscribers=True,
        monitor_parameters={"alert_log_path": str(alert_log),
                            "reference_dir": str(out_dir.resolve() / "references")})
    recorder, codes, share = record_run(
        monitor_spec, "rig", rig_spec, log_dir, duration_s / speed,
        f"rig: {duration_s:.0f} simulated s at {speed}x (~{duration_s / speed:.0f} s wall), "
        f"schedule {schedule or 'default'}", starve_monitor)
    title = f"simulated rig, {Path(schedule).stem if schedule else 'demo_outer_race'}, seed {seed}"
    summary = recorder.write(out_dir, title)
    summary["exit_codes"] = codes
    if share is not None:
        summary["monitor_cpu_share"] = share
    recorder.destroy_node()
    rclpy.try_shutdown()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=240.0, help="simulated seconds")
    parser.add_argument("--speed", type=float, default=3.0, help="simulated s per wall s")
    parser.add_argument("--schedule", default="", help="fault schedule YAML (default: "
                        "config/fault_schedules/demo_outer_race.yaml)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("output/demo"))
    parser.add_argument("--starve-monitor", action="store_true",
                        help="give the monitor about a fifth of one core")
    args = parser.parse_args(argv)
    summary = run(args.duration, args.speed, args.schedule, args.seed, args.out,
                  args.starve_monitor)
    print(json.dumps({k: v for k, v in summary.items() if k != "window_state_confusion"},
                     indent=2))
    print(f"outputs in {args.out.resolve()}: alerts.jsonl, explanations.jsonl, heatmaps/, "
          "timeline.png, summary.md")
    return 0 if summary["exit_codes"].get("rig") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
