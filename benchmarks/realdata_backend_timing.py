"""Real-data profile per window on torch vs ONNX Runtime (1 thread): each network and the
networks a window runs, on a replayed FEMTO bearing and the frames of realdata_cascade_timing.

Inputs: Bearing1_3's first snapshots (commissioning baseline of 30) then its windows as the
cascade computes them (window features, baseline, scaler, the 10-window sequence), the thermal
and camera frames and the 0.1 s microphone stretches of benchmarks/realdata_cascade_timing.py
(reused: its frames() and the same noise), preprocessed as the cascade does. Timed: each
network call at batch 1 (inputs already on the host), "gate closed" = Stage 1 + autoencoder,
"gate open" = all five + the two heatmaps (cam_heatmap at the frame's size, or autograd
Grad-CAM of the whole frame on torch, as the cascade's torch path does).

    python benchmarks/realdata_backend_timing.py [--windows 200] [--out results/realdata]

Prints a table and writes realdata_backend_timing.json. Wall-clock: load on the machine shows
in p99.
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
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realdata_cascade_timing import frames  # noqa: E402

from pm_monitor.core.datasets import femto  # noqa: E402
from pm_monitor.core.explain.gradcam import grad_cam  # noqa: E402
from pm_monitor.core.features.bearing_window import window_features  # noqa: E402
from pm_monitor.core.features.spectrogram import log_mel_spectrogram  # noqa: E402
from pm_monitor.core.inference import (  # noqa: E402
    InferenceConfig,
    NetworkSet,
    cam_heatmap,
    real_data_networks,
)
from pm_monitor.core.models.acoustic_anomaly import patches_of  # noqa: E402
from pm_monitor.core.realdata.femto_features import baseline_of, relative_to  # noqa: E402
from pm_monitor.core.realdata.images import (  # noqa: E402
    CameraInput,
    ThermalInput,
    camera_model_input,
    grey_pixels,
    thermal_model_input,
)
from pm_monitor.core.realdata.profile import RealDataProfile, load_real_profile  # noqa: E402
from pm_monitor.core.types import CAMERA, THERMAL  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnxruntime")
CLOSED = ("stage1", "autoencoder")
OPEN = ("stage1", "autoencoder", "thermal", "camera", "acoustic")


def window_inputs(profile: RealDataProfile, n_windows: int) -> list[dict[str, dict]]:
    """Per window: every network's feeds, as the real-data cascade builds them."""
    p = profile
    acc = femto.load_bearing("Bearing1_3").acc_g[:p.baseline_snapshots + n_windows]
    raw = window_features(acc, p.accel.sample_rate_hz, p.shaft_hz, p.feature_config)
    relative = relative_to(raw, baseline_of(raw[:p.baseline_snapshots]))
    rows = p.scaler.standardise(relative, np.ones_like(relative, dtype=bool))
    t = p.sequence_length
    padded = np.concatenate([np.repeat(rows[:1], t - 1, axis=0), rows])
    frame = frames()
    thermal = thermal_model_input(frame[THERMAL].image, p.thermal.assumed_span_c,
                                  p.thermal.downscale)[None, None]
    grey = grey_pixels(frame[CAMERA].image)
    camera = camera_model_input(grey.astype(np.uint8), p.camera.image_size)[None, None]
    # the microphone noise of realdata_cascade_timing; one clip (2.1 s) per window
    mic = np.random.default_rng(0).normal(0.0, 0.05, 1600 * (n_windows + 60)).astype(np.float32)
    a = p.acoustic
    out = []
    for k in range(n_windows):
        i = p.baseline_snapshots + k
        clip = mic[k * 1600:k * 1600 + a.clip_samples]
        patches = patches_of(a.standardiser(log_mel_spectrogram(clip, a.spectrogram)),
                             a.model.n_frames, a.patch_hop)[:, None].astype(np.float32)
        out.append({"stage1": {"sequence": padded[i:i + t][None]},
                    "autoencoder": {"features": rows[i:i + 1],
                                    "present": np.ones_like(rows[i:i + 1])},
                    "thermal": {"image": thermal}, "camera": {"image": camera},
                    "acoustic": {"patches": patches}})
    return out


def heatmap_step(nets: NetworkSet, profile: RealDataProfile, name: str
                 ) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """The cascade's heatmap of one frame from the network's outputs: cam_heatmap of the
    predicted class, or autograd Grad-CAM of the whole frame on torch (today's path)."""
    frame = frames()[THERMAL if name == "thermal" else CAMERA].image
    if name == "thermal":
        t = profile.thermal
        module, pixels = ThermalInput(t.model, t.assumed_span_c, t.downscale).eval(), frame
    else:
        c = profile.camera
        module, pixels = CameraInput(c.model, c.image_size).eval(), grey_pixels(frame)
    if nets.backend_of(name) == "torch":
        image = torch.from_numpy(np.asarray(pixels, np.float32))[None, None]
        return lambda _out: grad_cam(module, module.net.gradcam_layer, image).heatmap
    shape = pixels.shape[:2]
    return lambda out: cam_heatmap(
        out["cam"][0, int(np.argmax(out["location_probabilities"][0]))], shape)


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(values, 50)), 3),
            "p99_ms": round(float(np.percentile(values, 99)), 3)}


def measure(nets: NetworkSet, profile: RealDataProfile, inputs: list[dict[str, dict]]
            ) -> dict[str, dict[str, float]]:
    heatmaps = {name: heatmap_step(nets, profile, name) for name in ("thermal", "camera")}
    laps: dict[str, list[float]] = {name: [] for name in (*OPEN, "heatmaps")}
    for feeds in inputs:
        spent = 0.0
        for name in OPEN:
            start = time.perf_counter()
            out = nets.run(name, feeds[name])
            laps[name].append((time.perf_counter() - start) * 1e3)
            if name in heatmaps:
                start = time.perf_counter()
                heatmaps[name](out)
                spent += (time.perf_counter() - start) * 1e3
        laps["heatmaps"].append(spent)
    closed = [sum(laps[n][k] for n in CLOSED) for k in range(len(inputs))]
    opened = [sum(laps[n][k] for n in (*OPEN, "heatmaps")) for k in range(len(inputs))]
    return {**{name: percentiles(values) for name, values in laps.items()},
            "gate_closed_networks": percentiles(closed),
            "gate_open_networks_and_heatmaps": percentiles(opened)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "results/realdata")
    args = parser.parse_args()
    torch.set_num_threads(1)
    profile = load_real_profile()
    inputs = window_inputs(profile, args.windows)
    report: dict[str, object] = {"windows": args.windows, "threads": 1, "network_level": {}}
    with tempfile.TemporaryDirectory() as cache:
        for backend in BACKENDS:
            nets = NetworkSet.create(real_data_networks(profile), InferenceConfig(
                backend=backend, engine_cache_dir=cache))
            measure(nets, profile, inputs[:20])  # warm-up (first calls allocate)
            report["network_level"][backend] = {"summary": nets.summary(),
                                                "timings": measure(nets, profile, inputs)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realdata_backend_timing.json").write_text(json.dumps(report, indent=1) + "\n")
    rows = report["network_level"]
    print(f"per window, {args.windows} windows, 1 thread (ms)")
    print(f"{'step':34s}" + "".join(f"{b + ' p50':>16s}{b + ' p99':>16s}" for b in BACKENDS))
    for step in rows[BACKENDS[0]]["timings"]:
        cells = "".join(f"{rows[b]['timings'][step]['p50_ms']:16.3f}"
                        f"{rows[b]['timings'][step]['p99_ms']:16.3f}" for b in BACKENDS)
        print(f"{step:34s}{cells}")


if __name__ == "__main__":
    main()
