"""Per-window time of the real-data model set's cascade (gate closed and open, 1 thread).

Gate closed: Bearing1_3 early life (Normal, after the 30-window commissioning baseline), with a
thermal frame, a camera frame and 0.1 s of microphone in every window (present but not run).
Gate open: the stored end-of-life snapshots of Bearing1_3 (test/fixtures, Failure), same
frames; thermal Grad-CAM, camera Grad-CAM and the MIMII fan score run on every window.

    python benchmarks/realdata_cascade_timing.py [--windows 200] [--out results/realdata]
        [--backend torch]

benchmarks/realdata_backend_timing.py runs `measure` on torch and ONNX Runtime side by side.

Prints and writes realdata_timing.json: p50 / p99 of timings_ms["total"] and each stage.
Wall-clock times: run on an otherwise idle machine (other jobs on the cores show in p99).
"""
from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from pm_monitor.core.cascade import Cascade  # noqa: E402
from pm_monitor.core.inference import BACKENDS, InferenceConfig  # noqa: E402
from pm_monitor.core.model_set import load_model_set  # noqa: E402
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow  # noqa: E402
from pm_monitor.core.types import ACCEL, CAMERA, MIC, NS_PER_S, THERMAL  # noqa: E402
from pm_monitor.datasets import femto  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START_NS = 1_700_000_000 * NS_PER_S
HOP_NS = NS_PER_S // 10


def frames() -> dict[str, FrameSample]:
    celsius = np.full((240, 320), 30.0, np.float32)
    celsius[100:160, 120:220] = 65.0
    grey = np.random.default_rng(1).integers(80, 120, (200, 200)).astype(np.uint8)
    return {THERMAL: FrameSample(START_NS, celsius, "thermal"),
            CAMERA: FrameSample(START_NS, np.repeat(grey[:, :, None], 3, axis=2), "camera")}


def window(k: int, snapshot: np.ndarray, mic: np.ndarray) -> AnalysisWindow:
    t0 = START_NS + k * HOP_NS
    accel = StreamWindow(snapshot.astype(np.float32), 25600.0, ("horizontal", "vertical"), t0,
                         np.ones(len(snapshot), bool))
    sound = StreamWindow(mic[:, None], 16000.0, ("mic",), t0, np.ones(len(mic), bool))
    return AnalysisWindow(t0 + HOP_NS, 0.1, {ACCEL: accel, MIC: sound}, frames())


def stats(results: list) -> dict[str, dict[str, float]]:
    out = {}
    for key in ("features", "stage1", "stage2", "total"):
        values = np.array([r.timings_ms[key] for r in results])
        out[key] = {"p50_ms": round(float(np.percentile(values, 50)), 2),
                    "p99_ms": round(float(np.percentile(values, 99)), 2)}
    return out


def measure(cascade: Cascade, n_windows: int) -> dict[str, object]:
    """Both scenarios on one real-data cascade: p50 / p99 per stage and in total."""
    rng = np.random.default_rng(0)
    mic = rng.normal(0.0, 0.05, 1600 * (n_windows + 60)).astype(np.float32)
    acc = femto.load_bearing("Bearing1_3").acc_g
    stored = np.load(REPO / "test/fixtures/femto_shipped_snapshots.npz")
    failing = stored["snapshots_mg"].astype(np.float64) / 1000.0
    cascade.reset()
    k = 0
    for k in range(30):  # commissioning
        cascade.process(window(k, acc[k], mic[k * 1600:(k + 1) * 1600]))
    closed = []
    for j in range(n_windows):
        k = 30 + j
        closed.append(cascade.process(window(k, acc[30 + j % 200], mic[k * 1600:(k + 1) * 1600])))
    cascade.reset()
    cascade.stage1.set_baseline(stored["baseline"])
    opened = []
    for j in range(n_windows + 22):  # the first 22 fill the microphone ring
        result = cascade.process(window(j, failing[j % 10], mic[j * 1600:(j + 1) * 1600]))
        if j >= 22:
            opened.append(result)
    assert all(r.stage2_ran and r.scores for r in opened), "gate-open windows skipped"
    # early life: the few windows the anomaly score or Stage 1 flags open the gate; counted
    gate_closed = [r for r in closed if not r.stage2_ran]
    return {"windows": n_windows, "threads": 1,
            "early_life_gate_opened": len(closed) - len(gate_closed),
            "gate_closed": stats(gate_closed), "gate_open": stats(opened)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "results/realdata")
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="inference backend of the networks (the monitor's default: auto)")
    args = parser.parse_args()
    models = load_model_set(REPO / "models/real_data", InferenceConfig(backend=args.backend))
    report = {"backend": models.backend_summary(), **measure(models.cascade, args.windows)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realdata_timing.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
