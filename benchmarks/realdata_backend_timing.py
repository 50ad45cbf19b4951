"""The real-data model set per window on torch vs ONNX Runtime (1 thread): the whole cascade,
then each network on the inputs the cascade gave it.

Model set: realdata_cascade_timing.measure (reused, not copied) on the set loaded with each
backend: a replayed FEMTO bearing (Bearing1_3 early life after its 30-window commissioning:
gate closed) and its stored end-of-life snapshots (gate open: thermal and camera maps, the
microphone score on every window), with a thermal frame, a camera frame and 0.1 s of microphone
in every window; p50 / p99 of timings_ms per stage and in total.
Networks: every batch-1 network call the ONNX Runtime cascade made in that run, recorded and
replayed on each backend (torch: the export wrapper run eagerly, i.e. without autograd
Grad-CAM; the cascade's torch localisers add that, see the stage2 row).

    python benchmarks/realdata_backend_timing.py [--windows 200] [--out results/realdata]

Prints both tables and writes realdata_backend_timing.json. Wall-clock: load on the machine
shows in p99.
"""
from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realdata_cascade_timing import measure  # noqa: E402

from pm_monitor.core.inference import InferenceConfig, NetworkSet  # noqa: E402
from pm_monitor.core.model_set import load_model_set  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODEL_SET = REPO / "models" / "real_data"
BACKENDS = ("torch", "onnxruntime")
# this set's Stage 1 time includes its feature extraction (FemtoStage1 reports no split)
STAGES = ("stage1", "stage2", "total")

Feeds = Mapping[str, np.ndarray]


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(values, 50)), 3),
            "p99_ms": round(float(np.percentile(values, 99)), 3), "calls": len(values)}


def recording(nets: NetworkSet, calls: dict[str, list[Feeds]]) -> None:
    """Make `nets` keep every batch-1 call's feeds (an instance attribute over run, removed by
    `del nets.run`)."""
    run = nets.run

    def run_and_keep(name: str, feeds: Feeds) -> dict[str, np.ndarray]:
        if len(next(iter(feeds.values()))) == 1:
            calls[name].append(dict(feeds))
        return run(name, feeds)

    nets.run = run_and_keep  # type: ignore[method-assign]


def time_networks(nets: NetworkSet, calls: dict[str, list[Feeds]]) -> dict[str, dict]:
    out = {}
    for name, recorded in calls.items():
        laps = []
        for feeds in recorded:
            start = time.perf_counter()
            nets.run(name, feeds)
            laps.append((time.perf_counter() - start) * 1e3)
        out[name] = percentiles(laps)
    return out


def table(title: str, rows: dict[str, dict[str, dict[str, float]]], steps) -> None:
    print(title)
    print(f"{'':14s}" + "".join(f"{b + ' p50':>18s}{b + ' p99':>18s}" for b in BACKENDS))
    for step in steps:
        cells = "".join(f"{rows[b][step]['p50_ms']:18.2f}{rows[b][step]['p99_ms']:18.2f}"
                        for b in BACKENDS)
        print(f"{step:14s}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "results/realdata")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report: dict[str, dict] = {"model_set": {}, "networks": {}}
    calls: dict[str, list[Feeds]] = defaultdict(list)
    networks = {}
    with tempfile.TemporaryDirectory() as cache:
        for backend in BACKENDS:
            models = load_model_set(MODEL_SET, InferenceConfig(backend=backend,
                                                               engine_cache_dir=cache))
            measure(models.cascade, 20)  # warm-up (first calls allocate)
            networks[backend] = models.cascade.stage1.networks
            if backend == "onnxruntime":  # the graphs' inputs: every network is called
                recording(networks[backend], calls)
            report["model_set"][backend] = {"backend": models.backend_summary(),
                                            **measure(models.cascade, args.windows)}
            if backend == "onnxruntime":
                del networks[backend].run  # stop recording
        for backend in BACKENDS:
            report["networks"][backend] = time_networks(networks[backend], calls)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realdata_backend_timing.json").write_text(json.dumps(report, indent=1) + "\n")
    sets = report["model_set"]
    print(f"real-data model set, {args.windows} windows per scenario, 1 thread, ms per window")
    for scenario in ("gate_closed", "gate_open"):
        table(scenario, {b: sets[b][scenario] for b in BACKENDS}, STAGES)
    table("networks, per batch-1 call", report["networks"], sorted(calls))


if __name__ == "__main__":
    main()
