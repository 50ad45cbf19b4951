"""Parity of the real-data profile's five networks across backends, on real inputs.

Inputs (each built as the real-data cascade builds it from its frames and streams):
- FEMTO Stage 1 and feature autoencoder: the 10 stored end-of-life snapshots of the held-out
  Bearing1_3 (test/fixtures, Failure) and, with the data set, its first 40 snapshots (Normal),
  through window_features, the commissioning baseline and the shipped scaler.
- thermal_motor: one frame of every one of the 11 conditions; NEU: one image of each of the
  6 defects; MIMII fan id_00: three whole 10 s clips (normal and anomalous) as log-mel patches.
Thresholds (max abs difference), as the rig's parity tests:
- ONNX Runtime CPU vs torch (both fp32): probabilities, attention 1e-4; anomaly scores and
  patch errors 1e-4 relative; identical argmax everywhere.
- exported CAM, upsampled to the frame by cam_heatmap, vs torch autograd Grad-CAM of the
  whole frame (the cascade's torch path): 1e-3, same hot spot (or a tie within 1e-3).
- TensorRT FP16 vs torch (GPU only): probabilities 0.02, scores 2 % relative, CAM 0.1.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from gpu_skips import needs_tensorrt

from pm_monitor.core.explain.gradcam import grad_cam
from pm_monitor.core.features.bearing_window import window_features
from pm_monitor.core.features.spectrogram import log_mel_spectrogram
from pm_monitor.core.inference import (
    REAL_DATA_NETWORKS,
    InferenceConfig,
    NetworkSet,
    cam_heatmap,
    real_data_networks,
)
from pm_monitor.core.model_set import read_descriptor
from pm_monitor.core.model_set.real_data import real_data_cascade
from pm_monitor.core.models.acoustic_anomaly import patches_of
from pm_monitor.core.realdata.femto_features import baseline_of, relative_to
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    camera_model_input,
    thermal_model_input,
)
from pm_monitor.core.realdata.profile import RealDataProfile, load_profile
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.types import ACCEL, CAMERA, MIC, NS_PER_S, THERMAL
from pm_monitor.datasets.paths import DataNotFoundError, data_root

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "test/fixtures/femto_shipped_snapshots.npz"
ORT_ATOL = {"state_probabilities": 1e-4, "fault_probabilities": 1e-4, "attention": 1e-4,
            "location_probabilities": 1e-4, "spatial_attention": 1e-4}
ORT_RTOL = {"anomaly_score": 1e-4, "patch_error": 1e-4}
CAM_ATOL = 1e-3
TRT_ATOL = {name: 0.02 for name in ORT_ATOL}
TRT_RTOL = {name: 0.02 for name in ORT_RTOL}
TRT_CAM_ATOL = 0.1
TRT_ARGMAX_MARGIN = 0.02
ARGMAX_OUTPUTS = ("state_probabilities", "location_probabilities")
MIMII_CLIPS = ("fan/id_00/normal/00000010.flac", "fan/id_00/anomaly/00000001.flac",
               "fan/id_00/anomaly/00000000.flac")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def profile() -> RealDataProfile:
    return load_profile(read_descriptor(REPO / "models" / "real_data"))


def have_data() -> bool:
    try:
        data_root()
    except DataNotFoundError:
        return False
    return True


def sequences(rows: np.ndarray, length: int) -> np.ndarray:
    """(N, length, D): each row's last `length` rows, left-padded with the first row (the
    cascade's SequenceHistory from a fresh start)."""
    padded = np.concatenate([np.repeat(rows[:1], length - 1, axis=0), rows])
    return np.stack([padded[i:i + length] for i in range(len(rows))]).astype(np.float32)


def femto_rows(snapshots_g: np.ndarray, baseline: np.ndarray, p: RealDataProfile) -> np.ndarray:
    raw = window_features(snapshots_g, p.accel.sample_rate_hz, p.shaft_hz, p.feature_config)
    relative = relative_to(raw, baseline)
    return p.scaler.standardise(relative, np.ones_like(relative, dtype=bool))


@pytest.fixture(scope="module")
def femto_inputs() -> dict[str, np.ndarray]:
    """Standardised feature rows and Stage 1 sequences of real FEMTO snapshots, with the
    torch outputs recorded for the stored ones (proves these are the cascade's inputs)."""
    p = profile()
    stored = np.load(FIXTURE)
    failing = femto_rows(stored["snapshots_mg"].astype(np.float64) / 1000.0, stored["baseline"],
                         p)
    parts = [failing]
    seqs = [sequences(failing, p.sequence_length)]
    if have_data():
        from pm_monitor.datasets import femto

        acc = femto.load_bearing("Bearing1_3").acc_g[:40]
        raw = window_features(acc, p.accel.sample_rate_hz, p.shaft_hz, p.feature_config)
        early = femto_rows(acc, baseline_of(raw[:p.baseline_snapshots]), p)
        parts.append(early)
        seqs.append(sequences(early, p.sequence_length))
    rows = np.concatenate(parts)
    return {"rows": rows, "sequence": np.concatenate(seqs), "stored_probs": stored["probs"],
            "stored_score": stored["score"]}


@pytest.fixture(scope="module")
def thermal_frames() -> list[np.ndarray]:
    """deg C frames (as the monitor hands them on), one per thermal_motor condition."""
    if not have_data():
        pytest.skip("real data not available")
    from pm_monitor.datasets import thermal_motor

    lo, hi = profile().thermal.assumed_span_c
    first: dict[str, object] = {}
    for frame in thermal_motor.list_frames():
        first.setdefault(frame.class_name, frame)
    return [(lo + thermal_motor.load_palette_index(f).astype(np.float32) * (hi - lo) / 241.0)
            .astype(np.float32) for f in first.values()]


@pytest.fixture(scope="module")
def camera_frames() -> list[np.ndarray]:
    """(H, W) uint8 grey NEU images, one per defect class."""
    if not have_data():
        pytest.skip("real data not available")
    from pm_monitor.datasets import neu_surface

    first: dict[str, object] = {}
    for image in neu_surface.list_images():
        first.setdefault(image.class_name, image)
    return [neu_surface.load_image(image) for image in first.values()]


@pytest.fixture(scope="module")
def mimii_patches() -> np.ndarray:
    if not have_data():
        pytest.skip("real data not available")
    from pm_monitor.datasets import machine_sound

    acoustic = profile().acoustic
    clips = {c.file: c for c in machine_sound.list_clips()}
    patches = [patches_of(acoustic.standardiser(log_mel_spectrogram(
        machine_sound.load_clip(clips[name]), acoustic.spectrogram)),
        acoustic.model.n_frames, acoustic.patch_hop) for name in MIMII_CLIPS]
    return np.concatenate(patches)[:, None].astype(np.float32)


def thermal_inputs(frames: list[np.ndarray]) -> np.ndarray:
    t = profile().thermal
    return np.stack([thermal_model_input(f, t.assumed_span_c, t.downscale)
                     for f in frames])[:, None]


def camera_inputs(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([camera_model_input(f, profile().camera.image_size) for f in frames])[:, None]


@pytest.fixture(scope="module")
def torch_nets() -> NetworkSet:
    return NetworkSet.create(real_data_networks(profile()))


@pytest.fixture(scope="module")
def ort_nets(tmp_path_factory) -> NetworkSet:
    cache_dir = tmp_path_factory.mktemp("realdata_inference_cache")
    config = InferenceConfig(backend="onnxruntime", engine_cache_dir=str(cache_dir))
    nets = NetworkSet.create(real_data_networks(profile()), config)
    assert {nets.backend_of(name) for name in REAL_DATA_NETWORKS} == {"onnxruntime"}, nets.report
    return nets


def feeds(name: str, femto_inputs, request) -> dict[str, np.ndarray]:
    """Real inputs of network `name` (image and sound fixtures requested only when needed)."""
    if name == "stage1":
        return {"sequence": femto_inputs["sequence"]}
    if name == "anomaly":
        rows = femto_inputs["rows"]
        return {"features": rows, "present": np.ones_like(rows)}
    if name == "thermal":
        return {"image": thermal_inputs(request.getfixturevalue("thermal_frames"))}
    if name == "camera":
        return {"image": camera_inputs(request.getfixturevalue("camera_frames"))}
    return {"patches": request.getfixturevalue("mimii_patches")}


def assert_close(got: dict[str, np.ndarray], want: dict[str, np.ndarray],
                 atol: dict[str, float], rtol: dict[str, float], cam_atol: float,
                 argmax_margin: float = 0.0) -> None:
    for name, expected in want.items():
        if name in rtol:
            np.testing.assert_allclose(got[name], expected, rtol=rtol[name], err_msg=name)
            continue
        tolerance = cam_atol * float(np.max(expected)) if name == "cam" else atol[name]
        assert np.max(np.abs(got[name] - expected)) <= tolerance, name
        if name in ARGMAX_OUTPUTS:
            top2 = np.sort(expected, axis=-1)[:, -2:]
            clear = (top2[:, 1] - top2[:, 0]) > argmax_margin
            np.testing.assert_array_equal(got[name].argmax(-1)[clear],
                                          expected.argmax(-1)[clear])


def test_every_real_data_network_has_a_spec_and_its_inputs_are_the_cascades(
        torch_nets, femto_inputs):
    assert torch_nets.names == REAL_DATA_NETWORKS
    stored = femto_inputs["stored_probs"]
    out = torch_nets.run("stage1", {"sequence": femto_inputs["sequence"][:len(stored)]})
    np.testing.assert_allclose(out["state_probabilities"], stored, atol=1e-4)
    rows = femto_inputs["rows"][:len(stored)]
    score = torch_nets.run("anomaly", {"features": rows, "present": np.ones_like(rows)})
    np.testing.assert_allclose(score["anomaly_score"], femto_inputs["stored_score"], rtol=1e-3)


@pytest.mark.parametrize("name", REAL_DATA_NETWORKS)
def test_onnxruntime_cpu_matches_torch(torch_nets, ort_nets, femto_inputs, request, name):
    inputs = feeds(name, femto_inputs, request)
    want, got = torch_nets.run(name, inputs), ort_nets.run(name, inputs)
    assert set(got) == set(want) == set(torch_nets.spec_of(name).outputs)
    assert_close(got, want, ORT_ATOL, ORT_RTOL, CAM_ATOL)


def test_femto_inputs_cover_normal_and_failure(torch_nets, femto_inputs):
    if not have_data():
        pytest.skip("real data not available: only the stored Failure windows")
    states = torch_nets.run("stage1", {"sequence": femto_inputs["sequence"]})
    assert {0, 3} <= set(states["state_probabilities"].argmax(1).tolist())


def test_mimii_patch_errors_give_the_shipped_clip_score(ort_nets):
    if not have_data():
        pytest.skip("real data not available")
    from pm_monitor.datasets import machine_sound

    acoustic = profile().acoustic
    meta = json.loads((REPO / "models/machine_sound/fan_id_00.json").read_text())
    clips = {c.file: c for c in machine_sound.list_clips()}
    for ref in meta["reference_scores"]:
        samples = machine_sound.load_clip(clips[ref["file"]])[:ref["first_samples"]]
        patches = patches_of(acoustic.standardiser(log_mel_spectrogram(
            samples, acoustic.spectrogram)), acoustic.model.n_frames, acoustic.patch_hop)
        errors = ort_nets.run("acoustic", {"patches": patches[:, None].astype(np.float32)})
        assert float(errors["patch_error"].mean()) == pytest.approx(ref["score"], rel=1e-4)


def _gradcam_agreement(module: torch.nn.Module, layer: torch.nn.Module,
                       frames: list[np.ndarray], outputs: dict[str, np.ndarray],
                       atol: float, margin: float = 0.0) -> float:
    """Exported CAM of the predicted class, upsampled to the frame, vs autograd Grad-CAM of
    the whole frame (the real-data cascade's torch path); frames whose top two classes are
    within `margin` are left out (FP16 may pick the other one). Returns the worst difference."""
    worst = 0.0
    for i, frame in enumerate(frames):
        reference = grad_cam(module, layer, torch.from_numpy(frame.astype(np.float32))[None, None])
        probabilities = outputs["location_probabilities"][i]
        top2 = np.sort(probabilities)[-2:]
        if top2[1] - top2[0] <= margin:
            continue
        target = int(np.argmax(probabilities))
        assert target == reference.target_class
        heatmap = cam_heatmap(outputs["cam"][i, target], frame.shape)
        assert heatmap.shape == reference.heatmap.shape
        worst = max(worst, float(np.max(np.abs(heatmap - reference.heatmap))))
        row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
        assert (col, row) == reference.hotspot_xy or reference.heatmap[row, col] >= 1.0 - atol
    assert worst <= atol
    return worst


def test_thermal_cam_equals_torch_gradcam_of_the_whole_frame(ort_nets, thermal_frames):
    t = profile().thermal
    outputs = ort_nets.run("thermal", {"image": thermal_inputs(thermal_frames)})
    module = ThermalInput(t.model, t.assumed_span_c, t.downscale).eval()
    _gradcam_agreement(module, t.model.gradcam_layer, thermal_frames, outputs, CAM_ATOL)


def test_camera_cam_equals_torch_gradcam_of_the_whole_frame(ort_nets, camera_frames):
    c = profile().camera
    outputs = ort_nets.run("camera", {"image": camera_inputs(camera_frames)})
    module = CameraInput(c.model, c.image_size).eval()
    _gradcam_agreement(module, c.model.gradcam_layer, camera_frames, outputs, CAM_ATOL)


def _window(k: int, snapshot_g: np.ndarray, mic: np.ndarray, frames: dict) -> AnalysisWindow:
    t0 = 1_700_000_000 * NS_PER_S + k * (NS_PER_S // 10)
    accel = StreamWindow(snapshot_g.astype(np.float32), 25600.0, ("horizontal", "vertical"),
                         t0, np.ones(len(snapshot_g), bool))
    sound = StreamWindow(mic[:, None], 16000.0, ("mic",), t0, np.ones(len(mic), bool))
    return AnalysisWindow(t0 + NS_PER_S // 10, 0.1, {ACCEL: accel, MIC: sound},
                          {name: FrameSample(t0, image, name) for name, image in frames.items()})


def test_real_data_cascade_on_onnxruntime_gives_the_torch_answers(ort_nets):
    """The whole real-data model set, stored end-of-life windows (gate open: thermal and
    camera maps, microphone score), on ONNX Runtime vs torch (autograd Grad-CAM)."""
    p = profile()
    stored = np.load(FIXTURE)
    snapshots = stored["snapshots_mg"].astype(np.float64) / 1000.0
    mic = np.random.default_rng(0).normal(0.0, 0.05, 1600 * 30).astype(np.float32)
    thermal = np.full((240, 320), 30.0, np.float32)
    thermal[100:160, 120:220] = 65.0
    grey = np.random.default_rng(1).integers(80, 120, (200, 200)).astype(np.uint8)
    frames = {THERMAL: thermal, CAMERA: np.repeat(grey[:, :, None], 3, axis=2)}
    reference = real_data_cascade(p)
    accelerated = real_data_cascade(p, networks=ort_nets)
    for cascade in (reference, accelerated):
        cascade.stage1.set_baseline(stored["baseline"])
    compared = 0
    for k in range(30):
        window = _window(k, snapshots[k % 10], mic[k * 1600:(k + 1) * 1600], frames)
        want, got = reference.process(window), accelerated.process(window)
        assert (got.state, got.anomalous, got.decision_basis) == (
            want.state, want.anomalous, want.decision_basis)
        assert got.anomaly_score == pytest.approx(want.anomaly_score, rel=ORT_RTOL["anomaly_score"])
        assert set(got.scores) == set(want.scores)
        for name, value in want.scores.items():
            assert got.scores[name] == pytest.approx(value, rel=ORT_RTOL["patch_error"])
        assert len(got.localizations) == len(want.localizations) == 2
        for g, w in zip(got.localizations, want.localizations, strict=True):
            assert (g.modality, g.location, g.hotspot_xy) == (w.modality, w.location,
                                                              w.hotspot_xy)
            assert abs(g.confidence - w.confidence) <= ORT_ATOL["location_probabilities"]
            np.testing.assert_allclose(g.heatmap, w.heatmap, atol=CAM_ATOL)
        compared += bool(want.scores)
    assert compared >= 8  # the microphone ring filled: the score was compared too


@needs_tensorrt
@pytest.mark.parametrize("name", REAL_DATA_NETWORKS)
def test_tensorrt_fp16_matches_torch(torch_nets, femto_inputs, request, name, tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp(f"trt_realdata_{name}")
    spec_and_module = {name: real_data_networks(profile())[name]}
    trt = NetworkSet.create(spec_and_module, InferenceConfig(
        backend="tensorrt", precision="fp16", engine_cache_dir=str(cache_dir)))
    assert trt.backend_of(name) == "tensorrt", trt.report
    inputs = feeds(name, femto_inputs, request)
    got, want = trt.run(name, inputs), torch_nets.run(name, inputs)
    assert_close(got, want, TRT_ATOL, TRT_RTOL, TRT_CAM_ATOL, TRT_ARGMAX_MARGIN)
