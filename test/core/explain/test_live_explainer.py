"""LiveExplainer: background learning rules and explanations delivered with their alert."""
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.attribution import SensorLayout
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.explain.live_explainer import LiveExplainer
from pm_monitor.core.types import HealthState

LAYOUT = SensorLayout(("accel_x.rms", "mic.band_20_500hz", "thermal.max_c"),
                      {"accel_x": slice(0, 1), "mic": slice(1, 2), "thermal": slice(2, 3)},
                      {"accel_x": "accel", "mic": "mic", "thermal": "thermal"})


class Linear4(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean(dim=1))


def _result(state: HealthState, anomalous: bool = False, level: float = 0.0):
    sequence = np.full((4, 3), level, np.float32)
    return SimpleNamespace(state=state, anomalous=anomalous, stage1_input=sequence,
                           t_end_ns=1, temporal_attention=np.full(4, 0.25, np.float32),
                           localization=None)


def _explainer() -> Explainer:
    return Explainer(Linear4(), LAYOUT, np.zeros(3), np.ones(3),
                     ("normal", "pre_warning", "warning", "failure"))


def test_background_learns_only_healthy_windows_outside_alerts():
    delivered = []
    live = LiveExplainer(_explainer(), delivered.append)
    assert live.observe(_result(HealthState.NORMAL))
    assert not live.observe(_result(HealthState.NORMAL), alert_active=True)
    assert not live.observe(_result(HealthState.NORMAL, anomalous=True))
    assert not live.observe(_result(HealthState.WARNING))
    assert len(live.explainer.background) == 1
    live.close()


def test_explanation_arrives_with_its_alert_and_result():
    delivered = []
    live = LiveExplainer(_explainer(), delivered.append)
    for _ in range(3):
        live.observe(_result(HealthState.NORMAL, level=-0.1))
    faulty = _result(HealthState.WARNING, level=2.0)
    assert live.submit(faulty, "rig_1-0007")
    assert live.wait_idle(10.0)
    live.close()
    (done,) = delivered
    assert done.alert_id == "rig_1-0007" and done.result is faulty and not done.error
    assert done.explanation.explained_state == HealthState.WARNING
    assert done.explanation.ig_baseline == "healthy background (K=3)"
    assert done.explanation.counterfactual is not None
    assert done.computation_s > 0


def test_a_failing_explanation_is_delivered_with_its_error():
    delivered = []
    live = LiveExplainer(_explainer(), delivered.append)
    broken = _result(HealthState.WARNING)
    broken.stage1_input = np.zeros(3, np.float32)  # not (T, D)
    live.submit(broken, "rig_1-0008")
    assert live.wait_idle(10.0)
    live.close()
    (done,) = delivered
    assert done.explanation is None and done.result is broken
    assert done.error.startswith("ValueError")
    assert live.stats().failed == 1
