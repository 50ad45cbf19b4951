"""The monitor's live synchronisation path: window assembly cost and emission delay (a table).

    python benchmarks/sync_live_path.py [--duration 120] [--label matcher] [--out results/sync]

Feeds the monitor's input mix (accelerometer 25.6 kHz x3 and microphone 16 kHz in 10-50 ms
chunks, camera 15 Hz, thermal 8.7 Hz; frames stamped with +-2 ms jitter and delivered 5-40 ms
late, chunks 1-5 ms after their last sample) to the WindowAssembler the monitor builds
(pipeline.monitor_assembler, hop 0.5 s, window 1 s, image slop 0.1 s) and prints:

* assembly cost per window: wall time spent inside add_chunk/add_frame divided by windows
  (all message handling included), best of three;
* emission delay of each window: arrival time of the message that completed it minus the
  window's end stamp (how long after its end a window reaches the cascade), p50/p95/p99/max;
* frame use: mean |frame stamp - window end| per image input, mean camera-thermal spread
  inside a window (frames "from one moment"), windows with an image missing.

Scenarios: nominal; 10 % of the frames lost; thermal delivering 250 ms late (a slow driver).
Writes <out>/live_path_<label>.json. Run once per implementation (label) to compare.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pm_monitor.core.pipeline import monitor_assembler

NS = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * NS

SCENARIOS = {
    "nominal": {"drop": 0.0, "thermal_latency_ms": 0},
    "10% frames lost": {"drop": 0.1, "thermal_latency_ms": 0},
    "thermal 250 ms late": {"drop": 0.0, "thermal_latency_ms": 250},
}


def traffic(duration_s: float, drop: float, thermal_latency_ms: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    camera = np.zeros((240, 320, 3), dtype=np.uint8)
    thermal = np.full((120, 160), 30.0, dtype=np.float32)
    messages = []
    for name, rate, channels in (("mic", 16_000, 1), ("accel", 25_600, 3)):
        index, arrival = 0, 0
        while index < duration_s * rate:
            n = int(rate * rng.choice([0.01, 0.02, 0.05]))
            stamp = T0 + index * NS // rate
            block = rng.standard_normal((n, channels)).astype(np.float32)
            arrival = max(arrival, stamp + n * NS // rate + int(rng.integers(1, 5)) * MS)
            messages.append((arrival, "chunk", name, stamp, rate, index, block))
            index += n
    for name, hz, image, extra in (("camera", 15.0, camera, 0),
                                   ("thermal", 8.7, thermal, thermal_latency_ms)):
        for k in range(int(duration_s * hz)):
            if rng.random() < drop:
                continue
            stamp = T0 + round(k * NS / hz) + int(rng.integers(-2, 3)) * MS
            latency = (int(rng.integers(5, 40)) + extra) * MS
            messages.append((stamp + latency, "frame", name, stamp, image))
    messages.sort(key=lambda m: m[0])
    return messages


def run(messages: list) -> dict:
    assembler = monitor_assembler(1.0, 0.5, 0.1, 2.0)
    delays, spreads, offsets = [], [], {"camera": [], "thermal": []}
    missing_images = 0
    elapsed = 0.0
    clock = time.perf_counter
    for m in messages:
        start = clock()
        if m[1] == "chunk":
            windows = assembler.add_chunk(m[2], m[3], m[4], m[5], m[6])
        else:
            windows = assembler.add_frame(m[2], m[3], m[4])
        elapsed += clock() - start
        for w in windows:
            delays.append((m[0] - w.t_end_ns) / MS)
            stamps = [f.stamp_ns for f in w.frames.values()]
            for name, frame in w.frames.items():
                offsets[name].append(abs(frame.stamp_ns - w.t_end_ns) / MS)
            if len(stamps) == 2:
                spreads.append((max(stamps) - min(stamps)) / MS)
            else:
                missing_images += 1
    n = len(delays)
    d = np.asarray(delays)
    return {
        "windows": n,
        "ms_per_window": elapsed / n * 1e3 if n else float("nan"),
        "emission_delay_ms": {f"p{q}": float(np.percentile(d, q)) for q in (50, 95, 99)}
        | {"max": float(d.max())},
        "frame_offset_mean_ms": {k: float(np.mean(v)) if v else None for k, v in offsets.items()},
        "camera_thermal_spread_ms": {"mean": float(np.mean(spreads)) if spreads else None,
                                     "max": float(np.max(spreads)) if spreads else None},
        "windows_missing_an_image": missing_images,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--label", default="current")
    parser.add_argument("--out", default="results/sync")
    args = parser.parse_args()
    results = {}
    print(f"WindowAssembler of the monitor ({args.label}), {args.duration:.0f} s per scenario")
    header = ("scenario", "windows", "ms/window", "delay p50", "p95", "p99", "max",
              "|cam-t|", "|th-t|", "cam-th", "no pair")
    print(("{:<22}" + "{:>10}" * (len(header) - 1)).format(*header))
    for name, settings in SCENARIOS.items():
        messages = traffic(args.duration, **settings)
        runs = [run(messages) for _ in range(3)]
        best = min(runs, key=lambda r: r["ms_per_window"])
        results[name] = best
        e = best["emission_delay_ms"]
        print(("{:<22}{:>10}" + "{:>10.3f}" + "{:>10.1f}" * 4 + "{:>10}" * 3 + "{:>10}").format(
            name, best["windows"], best["ms_per_window"], e["p50"], e["p95"], e["p99"], e["max"],
            _fmt(best["frame_offset_mean_ms"]["camera"]),
            _fmt(best["frame_offset_mean_ms"]["thermal"]),
            _fmt(best["camera_thermal_spread_ms"]["mean"]), best["windows_missing_an_image"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"live_path_{args.label}.json"
    path.write_text(json.dumps({"label": args.label, "duration_s": args.duration,
                                "scenarios": results}, indent=2))
    print(f"wrote {path}")
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    sys.exit(main())
