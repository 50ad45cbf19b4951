"""A flood of junk on one input must not starve the others: windows with and without it.

    python -m benchmarks.input_flood [--seconds 30] [--rate 1000]

The installed rig and monitor run as separate processes (the plan of test_rig.launch.py, real
time). Three runs of the same rig seconds:

* baseline: the rig alone;
* junk: this process also publishes `--rate` msg/s of junk on /rig/accel (chunks with two
  channels where the models take three: refused on their metadata, never decoded);
* foreign: a second, well-formed accelerometer (its own sample indices, stamps 5 s behind)
  publishes 50 chunks/s on /rig/accel: must be reported as an ERROR in /diagnostics naming
  both publishers.

For each run: windows decided (~/health), windows missing each input, the monitor's count
of refused accel messages and its CPU time. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from pm_monitor.demo.cpu_limit import cpu_seconds
from pm_monitor.demo.run_demo import spin_until, start_monitor, start_node, stop
from pm_monitor.launch_plan import simulated_rig_plan
from pm_monitor.msg import HealthStatus, SensorChunk
from pm_monitor.nodes import conversions as conv

HEALTHY = Path(__file__).resolve().parents[1] / "config" / "fault_schedules" / "healthy.yaml"


class Probe(Node):
    def __init__(self) -> None:
        super().__init__("flood_probe")
        self.windows = 0
        self.missing: Counter[str] = Counter()
        self.diagnostics: dict[str, tuple[int, str, dict[str, str]]] = {}
        self.create_subscription(HealthStatus, "/pm_monitor/health", self._health, 1000)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._diag, 50)
        self.publisher = None  # created by the runs that publish (baseline: no publisher)

    def _health(self, msg: HealthStatus) -> None:
        self.windows += 1
        self.missing.update(msg.modalities_missing)

    def _diag(self, msg: DiagnosticArray) -> None:
        """Keep the most severe status of each name seen during the run (then the latest)."""
        for status in msg.status:
            level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
            if level >= self.diagnostics.get(status.name, (0,))[0]:
                self.diagnostics[status.name] = (level, status.message,
                                                 {kv.key: kv.value for kv in status.values})


def _junk_chunk() -> SensorChunk:
    return conv.numpy_to_chunk(np.zeros((512, 2), np.float32), time.time_ns(), "junk",
                               25600.0, ["x", "y"], "m/s^2", 0)


def _publish(probe: Probe, rate: float, make, stop_flag: list[bool], sent: list[int]) -> None:
    """`rate` messages per second, in bursts every 10 ms (timers of 1 ms are not kept)."""
    burst = max(1, round(rate / 100))
    next_t = time.monotonic()
    while not stop_flag[0]:
        for _ in range(burst):
            probe.publisher.publish(make(sent[0]))
            sent[0] += 1
        next_t += burst / rate
        time.sleep(max(0.0, next_t - time.monotonic()))


def _foreign_chunk(k: int) -> SensorChunk:
    rng = np.random.default_rng(k)
    stamp = time.time_ns() - 5 * 10**9
    return conv.numpy_to_chunk(rng.normal(size=(512, 3)).astype(np.float32), stamp,
                               "foreign_accel", 25600.0, ["x", "y", "z"], "m/s^2", k * 512)


def run(mode: str, seconds: float, rate: float, keep_logs: str = "") -> dict:
    probe = Probe()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(keep_logs) / mode if keep_logs else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        rig, monitor = simulated_rig_plan(str(HEALTHY), 1.0, seconds, 5,
                                          wait_for_subscribers=True,
                                          monitor_parameters={"alert_log_path":
                                                              str(log_dir / "alerts.jsonl")})
        processes = {}
        stop_flag, sent = [False], [0]
        publisher = None
        try:
            processes["monitor"] = start_monitor(monitor, probe, log_dir)
            cpu_before = cpu_seconds(processes["monitor"].pid)
            processes["rig"] = start_node(rig, log_dir)
            if mode != "baseline":
                probe.publisher = probe.create_publisher(SensorChunk, "/rig/accel", 1000)
                make = (lambda k: _junk_chunk()) if mode == "junk" else _foreign_chunk
                publisher = threading.Thread(target=_publish, args=(
                    probe, rate if mode == "junk" else 50.0, make, stop_flag, sent), daemon=True)
                publisher.start()
            spin_until(probe, lambda: processes["rig"].poll() is not None, seconds * 3 + 60)
            stop_flag[0] = True
            spin_until(probe, lambda: False, 3.0)
            cpu = cpu_seconds(processes["monitor"].pid) - cpu_before
        finally:
            stop_flag[0] = True
            if publisher is not None:
                publisher.join(timeout=5)
            for process in processes.values():
                stop(process)
    accel = probe.diagnostics.get("pm_monitor: input accel", (0, "", {}))
    result = {"mode": mode, "windows": probe.windows, "missing": dict(probe.missing),
              "sent": sent[0], "accel_rejected": accel[2].get("rejected", "?"),
              "accel_level": accel[0], "accel_message": accel[1], "monitor_cpu_s": cpu}
    probe.destroy_node()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="junk messages per second")
    parser.add_argument("--modes", default="baseline,junk,foreign")
    parser.add_argument("--logs", default="", help="keep the processes' logs here")
    args = parser.parse_args(argv)
    rclpy.init()
    rows = []
    try:
        for mode in args.modes.split(","):
            rows.append(run(mode, args.seconds, args.rate, args.logs))
            print(rows[-1], flush=True)
    finally:
        rclpy.try_shutdown()
    print(f"\n{args.seconds:g} s of the healthy rig at 1x; junk {args.rate:g} msg/s on "
          "/rig/accel\n")
    print("| run | messages sent | windows | missing accel | missing mic | missing thermal | "
          "missing camera | accel refused | monitor CPU (s) | accel diagnostics |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m = r["missing"]
        level = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}.get(r["accel_level"], "?")
        print(f"| {r['mode']} | {r['sent']} | {r['windows']} | {m.get('accel', 0)} | "
              f"{m.get('mic', 0)} | {m.get('thermal', 0)} | {m.get('camera', 0)} | "
              f"{r['accel_rejected']} | {r['monitor_cpu_s']:.1f} | {level}: "
              f"{r['accel_message'][:90]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
