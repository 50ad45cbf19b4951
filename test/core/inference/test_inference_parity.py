"""Parity of the shipped bundle's models across backends on real simulated-rig windows.

Inputs: consecutive windows of training runs (outer race DE, inner race NDE, ball DE, healthy),
early / mid-way / near failure, built exactly as the cascade builds them
(training/rig_model_inputs.py).
Thresholds (max abs difference over all windows):
- ONNX Runtime CPU vs torch (both fp32): probabilities, attention 1e-4; anomaly score 1e-4
  relative; CAM maps 1e-3; identical argmax of state, fault type and location everywhere.
- exported CAM vs torch autograd Grad-CAM: 1e-3, same hot spot (or a tie within 1e-3).
- TensorRT FP16 vs torch (GPU only): probabilities 0.02, anomaly score 2 % relative, CAM 0.1;
  identical argmax wherever torch's top-two margin exceeds 0.02 (closer calls may flip in FP16).
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from gpu_skips import needs_tensorrt

from pm_monitor.core.explain.gradcam import grad_cam
from pm_monitor.core.inference import InferenceConfig, rig_network_set
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import rig_window
from pm_monitor.training.rig_model_inputs import collect_rig_model_inputs

BUNDLE_DIR = Path(__file__).resolve().parents[3] / "models" / "rig_baseline"
ORT_ATOL = {"state_probabilities": 1e-4, "fault_probabilities": 1e-4, "attention": 1e-4,
            "location_probabilities": 1e-4, "spatial_attention": 1e-4, "cam": 1e-3}
ORT_SCORE_RTOL = 1e-4
GRADCAM_ATOL = 1e-3
TRT_ATOL = {"state_probabilities": 0.02, "fault_probabilities": 0.02, "attention": 0.02,
            "location_probabilities": 0.02, "spatial_attention": 0.02, "cam": 0.1}
TRT_SCORE_RTOL = 0.02
TRT_ARGMAX_MARGIN = 0.02
ARGMAX_OUTPUTS = ("state_probabilities", "fault_probabilities", "location_probabilities")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Autograd Grad-CAM on 2 OpenMP threads of a shared 2-core machine is many times slower;
    restored afterwards so other test modules see the default."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def shipped_bundle():
    if not (BUNDLE_DIR / "metadata.json").is_file():
        pytest.skip("models/rig_baseline not trained yet")
    return load_bundle(BUNDLE_DIR)


@pytest.fixture(scope="module")
def real_inputs(shipped_bundle):
    return collect_rig_model_inputs(shipped_bundle)


@pytest.fixture(scope="module")
def torch_models(shipped_bundle):
    return rig_network_set(shipped_bundle)


@pytest.fixture(scope="module")
def ort_models(shipped_bundle, tmp_path_factory):
    cache = tmp_path_factory.mktemp("inference_cache")
    config = InferenceConfig(backend="onnxruntime", engine_cache_dir=str(cache))
    models = rig_network_set(shipped_bundle, config)
    assert {models.backend_of(m) for m in ("stage1", "anomaly", "thermal")} == {"onnxruntime"}
    return models


def test_real_inputs_cover_every_state_and_location(torch_models, real_inputs):
    states = torch_models.run("stage1", real_inputs.model_inputs("stage1"))
    locations = torch_models.run("thermal", real_inputs.model_inputs("thermal"))
    assert len(np.unique(states["state_probabilities"].argmax(1))) == 4
    assert len(np.unique(locations["location_probabilities"].argmax(1))) == 3


def test_real_inputs_batches_and_errors(shipped_bundle, real_inputs):
    batches = real_inputs.batches("anomaly", 8)
    assert len(batches) == len(real_inputs) // 8
    assert all(b["features"].shape == (8, 34) and b["present"].shape == (8, 34) for b in batches)
    assert set(np.unique(real_inputs.present)) <= {0.0, 1.0}
    with pytest.raises(KeyError, match="no real inputs"):
        real_inputs.model_inputs("camera")
    with pytest.raises(ValueError, match="unknown training runs"):
        collect_rig_model_inputs(shipped_bundle, runs=("test_00_nothing",))


@pytest.mark.parametrize("model", ["stage1", "anomaly", "thermal"])
def test_onnxruntime_cpu_matches_torch(torch_models, ort_models, real_inputs, model):
    inputs = real_inputs.model_inputs(model)
    want = torch_models.run(model, inputs)
    got = ort_models.run(model, inputs)
    for name, expected in want.items():
        if name == "anomaly_score":
            np.testing.assert_allclose(got[name], expected, rtol=ORT_SCORE_RTOL)
            continue
        assert np.max(np.abs(got[name] - expected)) <= ORT_ATOL[name], name
        if name in ARGMAX_OUTPUTS:
            np.testing.assert_array_equal(got[name].argmax(-1), expected.argmax(-1))


def _gradcam_agreement(bundle, runner_outputs, images, atol, margin=0.0):
    """Frames where the two bearings' probabilities are within `margin` may pick the other
    bearing's map (FP16); they are left out, every other frame is compared."""
    bearings = [1, 2]  # the cascade explains the most likely bearing, never "healthy"
    worst = 0.0
    for i, image in enumerate(images):
        reference = grad_cam(bundle.thermal, bundle.thermal.gradcam_layer,
                             torch.from_numpy(image[None]), candidates=bearings)
        probabilities = runner_outputs["location_probabilities"][i]
        target = max(bearings, key=lambda j: probabilities[j])
        if abs(probabilities[1] - probabilities[2]) <= margin:
            continue
        assert target == reference.target_class
        exported = runner_outputs["cam"][i, target]
        worst = max(worst, float(np.max(np.abs(exported - reference.heatmap))))
        row, col = np.unravel_index(int(np.argmax(exported)), exported.shape)
        x, y = reference.hotspot_xy
        assert (col, row) == (x, y) or reference.heatmap[row, col] >= 1.0 - atol
    assert worst <= atol


def test_exported_cam_equals_torch_gradcam(shipped_bundle, ort_models, real_inputs):
    # every other frame: autograd Grad-CAM is the slow part of this test
    images = real_inputs.model_inputs("thermal")["image"][::2]
    outputs = ort_models.run("thermal", {"image": images})
    _gradcam_agreement(shipped_bundle, outputs, images, GRADCAM_ATOL)


def test_cascade_on_onnxruntime_gives_the_torch_answers(shipped_bundle, ort_models):
    schedule = FaultSchedule((ScheduledFault("outer_race", "nde_bearing", 0.0, 100.0, 3.0),))
    reference, accelerated = rig_cascade(shipped_bundle), rig_cascade(shipped_bundle,
                                                                      ort_models)
    simulator = RigSimulator(RigConfig(), schedule, 92)
    for t_end in np.arange(90.0, 98.5, 0.5):
        window = rig_window(simulator, float(t_end), shipped_bundle.window_s)
        want, got = reference.process(window), accelerated.process(window)
        assert got.state == want.state and got.fault_type == want.fault_type
        assert got.anomalous == want.anomalous
        assert got.anomaly_score == pytest.approx(want.anomaly_score, rel=ORT_SCORE_RTOL)
        assert got.stage2_ran == want.stage2_ran
        if want.localization is not None:
            assert got.localization.location == want.localization.location
            assert got.localization.hotspot_xy == want.localization.hotspot_xy
            np.testing.assert_allclose(got.localization.heatmap, want.localization.heatmap,
                                       atol=GRADCAM_ATOL)
    assert want.stage2_ran  # the run ends in a severe fault: Stage 2 was compared


@needs_tensorrt
@pytest.mark.parametrize("model", ["stage1", "anomaly", "thermal"])
def test_tensorrt_fp16_matches_torch(shipped_bundle, torch_models, real_inputs, model,
                                     tmp_path_factory):
    cache = tmp_path_factory.mktemp(f"trt_{model}")
    trt_models = rig_network_set(
        shipped_bundle, InferenceConfig(backend="tensorrt", precision="fp16",
                                        engine_cache_dir=str(cache)))
    assert trt_models.backend_of(model) == "tensorrt", trt_models.report
    inputs = real_inputs.model_inputs(model)
    want = torch_models.run(model, inputs)
    got = trt_models.run(model, inputs)
    for name, expected in want.items():
        if name == "anomaly_score":
            np.testing.assert_allclose(got[name], expected, rtol=TRT_SCORE_RTOL)
            continue
        assert np.max(np.abs(got[name] - expected)) <= TRT_ATOL[name], name
        if name in ARGMAX_OUTPUTS:
            top2 = np.sort(expected, axis=-1)[:, -2:]
            clear = (top2[:, 1] - top2[:, 0]) > TRT_ARGMAX_MARGIN
            np.testing.assert_array_equal(got[name].argmax(-1)[clear],
                                          expected.argmax(-1)[clear])
    if model == "thermal":
        _gradcam_agreement(shipped_bundle, got, inputs["image"], TRT_ATOL["cam"],
                           TRT_ARGMAX_MARGIN)
