"""Explainer with small stand-in models: camera Grad-CAM target, fusion gates, no background."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.explain.attribution import SensorLayout
from pm_monitor.core.explain.explainer import (
    Explainer,
    ExplainerConfig,
    GateReading,
    ImageTarget,
)
from pm_monitor.core.explain.gates import gate_weights
from pm_monitor.core.sync.window import FrameSample
from pm_monitor.core.types import HealthState

LAYOUT = SensorLayout(("accel_x.rms", "mic.band_20_500hz", "thermal.max_c"),
                      {"accel_x": slice(0, 1), "mic": slice(1, 2), "thermal": slice(2, 3)},
                      {"accel_x": "accel", "mic": "mic", "thermal": "thermal"})
STATES = ("normal", "pre_warning", "warning", "failure")


class Stage1Stub(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.head = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean(dim=1))


class DefectNet(nn.Module):
    """Class 1 = 'scratch': the brightness of the red channel, via a conv layer 'features'."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(3, 1, kernel_size=4, stride=4, bias=False)
        with torch.no_grad():
            self.features.weight.zero_()
            self.features.weight[0, 0] = 1.0 / 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = torch.relu(self.features(x)).mean(dim=(1, 2, 3))
        return torch.stack([-score, score], dim=1)


class GatedStub(nn.Module):
    def forward(self, sensor: torch.Tensor, thermal: torch.Tensor):
        return {"logits": sensor, "gates": torch.full((sensor.shape[0],), 0.7)}


def _result(state=HealthState.WARNING):
    return SimpleNamespace(state=state, anomalous=True, t_end_ns=42,
                           stage1_input=np.full((4, 3), 1.5, np.float32),
                           temporal_attention=np.full(4, 0.25, np.float32), localization=None)


def test_camera_grad_cam_target_and_fusion_gates():
    camera = np.zeros((32, 48, 3), np.uint8)
    camera[8:16, 28:40, 0] = 255  # a red scratch
    target = ImageTarget("camera", DefectNet(), "features",
                         lambda rgb: rgb.transpose(2, 0, 1).astype(np.float32) / 255.0,
                         ("ok", "scratch"), candidates=(1,))
    gated = GatedStub()
    explainer = Explainer(
        Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES, image_targets=(target,),
        modality_gates=lambda result: dict(zip(
            ("thermal", "sensor"),
            gate_weights(gated, (torch.zeros(1, 2), torch.zeros(1, 2)),
                         ("thermal", "sensor"))[0].tolist(), strict=True)))
    explanation = explainer.explain(
        _result(), {"camera": FrameSample(41, camera, "camera_optical")})
    heatmap = explanation.heatmaps["camera"]
    assert heatmap.explained_class == "scratch" and heatmap.method == "grad_cam(features)"
    assert heatmap.frame_id == "camera_optical" and heatmap.stamp_ns == 41
    x, y = heatmap.hotspot_xy
    assert 28 <= x < 40 and 8 <= y < 16
    assert explanation.hotspot_xy == heatmap.hotspot_xy  # no thermal: camera is the main map
    assert explanation.modality_weights == pytest.approx({"thermal": 0.7, "sensor": 0.3})
    assert explanation.modality_weights_method == "fusion_gate"
    assert "gate_weights" in explanation.methods
    assert explanation.ig_baseline == "training mean"
    assert explanation.to_dict()["heatmaps"]["camera"]["class"] == "scratch"


def test_no_counterfactual_when_normal_or_disabled():
    explainer = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES)
    assert explainer.explain(_result(HealthState.NORMAL)).counterfactual is None
    off = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES,
                    config=ExplainerConfig(counterfactual=None))
    explanation = off.explain(_result())
    assert explanation.counterfactual is None
    assert not any(m.startswith("counterfactual") for m in explanation.methods)


def test_explainer_works_on_its_own_copies_of_the_models():
    model = Stage1Stub()
    explainer = Explainer(model, LAYOUT, np.zeros(3), np.ones(3), STATES)
    assert explainer.stage1 is not model
    with torch.no_grad():
        model.head.bias.add_(100.0)  # the cascade's model changing does not leak in
    assert not torch.equal(explainer.stage1.head.bias, model.head.bias)


def test_gate_hook_gets_the_frames_and_its_bias_reaches_the_explanation():
    seen = []

    def gates(result, frames):
        seen.append(dict(frames))
        return GateReading({"thermal": 0.2, "sensors": 0.8}, {"thermal": 0.5, "sensors": 0.5},
                           {"thermal": -0.3, "sensors": 0.3}, 4, "")

    explainer = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES,
                          modality_gates=gates, config=ExplainerConfig(counterfactual=None))
    frame = FrameSample(41, np.zeros((4, 4), np.float32), "thermal_optical")
    explanation = explainer.explain(_result(), {"thermal": frame})
    assert seen == [{"thermal": frame}]
    assert explanation.modality_bias == {"thermal": -0.3, "sensors": 0.3}
    assert explanation.modality_ideal_weights["thermal"] == 0.5
    assert explanation.modality_bias_decisions == 4
    assert "modality bias thermal -0.30, sensors +0.30 over 4 decisions" in explanation.summary
    assert explanation.to_dict()["modality_bias_decisions"] == 4


def test_without_a_fusion_gate_the_bias_fields_stay_empty():
    explanation = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES).explain(
        _result())
    assert explanation.modality_weights_method == "integrated_gradients_share"
    assert explanation.modality_bias == {} and explanation.modality_ideal_weights == {}
    assert explanation.modality_bias_decisions == 0 and "fusion gate" not in explanation.summary


def test_shapley_values_are_in_the_explanation_and_use_the_ig_reference():
    from pm_monitor.core.explain.background import HealthyBackground

    explainer = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES)
    explanation = explainer.explain(_result())
    shapley = explanation.shapley
    assert shapley is not None and set(shapley.sensors) == {"accel_x", "mic", "thermal"}
    # Stage1Stub is linear in the time mean: phi = w * (x - reference), zero reference here
    weight = explainer.stage1.head.weight[int(HealthState.WARNING)].detach().numpy()
    assert shapley.sensors["mic"] == pytest.approx(float(weight[1] * 1.5), abs=1e-5)
    assert shapley.efficiency_error < 1e-5
    assert "shapley(sensors, modalities)" in explanation.methods
    assert explanation.to_dict()["shapley"]["modalities"] == shapley.modalities
    background = HealthyBackground(capacity=2, seed=0)
    background.add(np.full((4, 3), 0.25, np.float32))
    background.add(np.full((4, 3), 0.75, np.float32))
    with_background = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES,
                                background=background).explain(_result()).shapley
    # the reference is the healthy mean (0.5), as for the deletion test
    assert with_background.sensors["mic"] == pytest.approx(float(weight[1] * 1.0), abs=1e-5)
    off = Explainer(Stage1Stub(), LAYOUT, np.zeros(3), np.ones(3), STATES,
                    config=ExplainerConfig(shapley=False)).explain(_result())
    assert off.shapley is None and off.to_dict()["shapley"] is None
