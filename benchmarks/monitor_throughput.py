"""Does the monitor keep up with the rig? Runs rig + monitor as separate processes at a given
speed factor (default 2x real time) and prints windows expected / processed / dropped,
stream gaps, frames dropped and inference latency, from the monitor's own /diagnostics.

python benchmarks/monitor_throughput.py [--speed 2] [--duration 120]
(run inside the ROS environment: `. tools/ros_env.sh` after tools/setup_env.sh)
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.demo.run_demo import run
from pm_monitor.nodes.monitor_node import default_model_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speed", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--schedule", default="")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="pm_throughput_"))
    start = time.monotonic()
    summary = run(args.duration, args.speed, args.schedule, seed=1, out_dir=out)
    wall = time.monotonic() - start
    diag = summary["monitor_diagnostics"]
    sync = next(v for k, v in diag.items() if k.endswith("synchroniser"))
    inference = next(v for k, v in diag.items() if k.endswith("inference"))
    bundle = load_bundle(default_model_dir())  # the windowing the monitor actually uses
    # the first window ends once window_s of data exists, then one per hop
    expected = int((args.duration - bundle.window_s) / bundle.hop_s)
    print(f"machine: {os.cpu_count()} cores; speed {args.speed}x; {args.duration:.0f} simulated s;"
          f" wall {wall:.1f} s (incl. start-up)")
    rows = [
        ("windows expected (grid, after the first full window)", expected),
        ("windows processed (HealthStatus received)", summary["windows"]),
        ("windows emitted by the synchroniser", sync.get("windows_emitted")),
        ("windows dropped (a required input missing)", sync.get("windows_dropped")),
        ("stream time without any data (s)", sync.get("no_data_s")),
        ("windows with a missing modality", sync.get("windows_with_missing")),
        ("accel gaps / mic gaps (lost chunks)",
         f"{sync.get('accel_gaps')} / {sync.get('mic_gaps')}"),
        ("frames not chosen for any window (1 per window is used)", sync.get("frames_dropped")),
        ("inference latency mean / max (ms)",
         f"{inference.get('latency_ms_mean')} / {inference.get('latency_ms_max')}"),
        ("stage 2 runs", inference.get("stage2_runs")),
    ]
    for name, value in rows:
        print(f"{name:58s} {value}")
    dropped = expected - int(summary["windows"])
    print(f"{'windows dropped (expected - processed)':58s} {max(dropped, 0)}")


if __name__ == "__main__":
    main()
