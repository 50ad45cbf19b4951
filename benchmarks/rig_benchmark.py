"""How fast the simulated rig generates data: simulated seconds per wall-clock second.

Run from the repository root:  .venv/bin/python -m benchmarks.rig_benchmark [--seconds 20]

Streams are generated in chunks like the rig node publishes them; images at the configured
frame rates. The "all modalities" line is the real-time factor of one core producing every
modality together (the rig node needs >= 4).
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from pm_monitor.sim import RigConfig, RigSimulator, load_fault_schedule

SCHEDULE = Path(__file__).resolve().parents[1] / "config/fault_schedules/demo_outer_race.yaml"


def _time_it(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per run")
    parser.add_argument("--chunk-s", type=float, default=0.05, help="stream chunk length")
    parser.add_argument("--start-s", type=float, default=150.0, help="simulated start time")
    args = parser.parse_args()

    config = RigConfig()
    sim = RigSimulator(config, load_fault_schedule(SCHEDULE), seed=0)
    t0, span = args.start_s, args.seconds

    def stream(generate: Callable[[int, int], object], rate: float) -> Callable[[], None]:
        chunk = round(args.chunk_s * rate)
        first, count = round(t0 * rate), round(span / args.chunk_s)
        return lambda: [generate(first + i * chunk, chunk) for i in range(count)]

    def frames(render: Callable[[float], object], fps: float) -> Callable[[], None]:
        return lambda: [render(t0 + i / fps) for i in range(round(span * fps))]

    work = {
        f"accel ({config.accel_rate:.0f} Hz x 3, {args.chunk_s * 1e3:.0f} ms chunks)":
            stream(sim.accel, config.accel_rate),
        f"mic ({config.mic_rate:.0f} Hz, {args.chunk_s * 1e3:.0f} ms chunks)":
            stream(sim.mic, config.mic_rate),
        f"thermal ({config.thermal_width}x{config.thermal_height} @ {config.thermal_rate} Hz)":
            frames(sim.thermal, config.thermal_rate),
        f"camera ({config.camera_width}x{config.camera_height} RGB @ {config.camera_rate} Hz)":
            frames(sim.camera, config.camera_rate),
        "truth (10 Hz)": frames(sim.truth, 10.0),
    }
    total_wall = 0.0
    print(f"{span:.0f} simulated s each, from t = {t0:.0f} s (demo outer-race schedule)")
    for name, job in work.items():
        job()  # warm-up (caches, first allocations)
        wall = _time_it(job)
        total_wall += wall
        print(f"  {name:<48s} {span / wall:10.1f} simulated s / wall s")
    print(f"  {'all modalities together':<48s} {span / total_wall:10.1f} simulated s / wall s")


if __name__ == "__main__":
    main()
