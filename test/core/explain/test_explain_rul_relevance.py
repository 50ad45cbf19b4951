"""RUL relevance: LRP of the paper-002 network (forward unchanged, conservation, equal to
captum's LRP where captum covers the layers) and the history attribution (known answers)."""
import numpy as np
import pytest
import torch
from captum.attr import LRP
from torch import nn

from pm_monitor.core.explain.rul_relevance import (
    ensemble_relevance,
    history_relevance,
    network_relevance,
    rulnet_logits_lrp,
    time_blocks,
)
from pm_monitor.core.rul.network import NetConfig, RulNet


def _net(seed: int) -> RulNet:
    torch.manual_seed(seed)
    return RulNet(NetConfig(steps=4)).eval()


def _inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = (rng.random((4, 64, 64)) < 0.1).astype(np.float32)
    return images, rng.normal(size=(4, 7)).astype(np.float32)


def test_lrp_forward_is_the_network():
    net = _net(0)
    images, features = _inputs(1)
    x_img, x_feat = torch.from_numpy(images[None]), torch.from_numpy(features[None])
    with torch.no_grad():
        np.testing.assert_allclose(torch.sigmoid(rulnet_logits_lrp(net, x_img, x_feat)).numpy(),
                                   net(x_img, x_feat).numpy(), atol=1e-6)


@pytest.mark.parametrize("output", [0, 1])
def test_relevance_is_conserved(output):
    net = _net(2)
    images, features = _inputs(3)
    relevance = network_relevance(net, images, features, output)
    assert relevance.images.shape == (4, 64, 64) and relevance.features.shape == (4, 7)
    assert relevance.conservation_error < 1e-4
    assert relevance.per_snapshot().shape == (4, 8)
    with torch.no_grad():
        expected = torch.logit(net(torch.from_numpy(images[None]),
                                   torch.from_numpy(features[None])))[0, output]
    assert relevance.logit == pytest.approx(float(expected), abs=1e-4)


def test_ensemble_relevance_is_the_members_mean():
    members = [_net(4), _net(5)]
    images, features = _inputs(6)
    parts = [network_relevance(m, images, features) for m in members]
    mean = ensemble_relevance(members, images, features)
    np.testing.assert_allclose(mean.features, (parts[0].features + parts[1].features) / 2,
                               atol=1e-7)
    assert mean.conservation_error < 1e-4


class _CaptumCovered(nn.Module):
    """Only layers captum's LRP has rules for (the flatten is functional)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.conv = nn.Conv2d(1, 4, 3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


def test_gradient_times_input_rule_equals_captums_lrp_on_layers_it_covers():
    x = torch.randn(1, 1, 8, 8)
    model = _CaptumCovered().eval()
    expected = LRP(model).attribute(x.clone(), target=1)
    inputs = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(inputs)[0, 1], inputs)
    np.testing.assert_allclose((inputs * grad).detach().numpy(), expected.detach().numpy(),
                               atol=1e-5)


def test_time_blocks():
    assert time_blocks(10, 4).tolist() == [0, 2, 5, 8, 10]
    assert time_blocks(2, 4).tolist() == [0, 1, 2]


def test_history_relevance_additive_model_known_answer():
    rng = np.random.default_rng(0)
    history = rng.normal(size=(12, 3))
    weights = np.array([2.0, -1.0, 0.5])

    def estimate(h: np.ndarray) -> float:
        return float((h * weights).sum())

    reference = np.array([0.1, 0.2, 0.3])
    result = history_relevance(estimate, history, ("rms", "kurtosis", "envelope"), reference,
                               n_blocks=3, n_permutations=5)
    edges = result.block_edges
    for c in range(3):
        for b in range(3):
            expected = weights[c] * (history[edges[b]:edges[b + 1], c] - reference[c]).sum()
            assert result.values[c, b] == pytest.approx(expected, abs=1e-6)  # captum: float32 sums
    assert result.conservation_error < 1e-6
    name, block, value = result.top(1)[0]
    assert abs(value) == pytest.approx(np.abs(result.values).max())
    assert name in result.names and 0 <= block < 3


def test_history_relevance_finds_the_moment_and_indicator_that_moved_a_trend():
    """A 'RUL' that drops when the last block's rms rises: only (rms, last block) matters."""
    history = np.ones((16, 2))
    history[12:, 0] = 3.0  # rms jumps in the last quarter

    def estimate(h: np.ndarray) -> float:
        return 100.0 - 20.0 * max(0.0, float(h[-4:, 0].mean()) - 1.0)

    result = history_relevance(estimate, history, ("rms_h", "kurtosis_h"), n_blocks=4,
                               n_permutations=10)
    assert result.top(1)[0][:2] == ("rms_h", 3)
    assert result.values[0, 3] == pytest.approx(-40.0)
    np.testing.assert_allclose(np.delete(result.values.ravel(), 3), 0.0, atol=1e-6)
    assert result.estimate - result.reference_estimate == pytest.approx(-40.0)


def test_history_shape_errors():
    with pytest.raises(ValueError, match="history"):
        history_relevance(lambda h: 0.0, np.zeros((5, 2)), ("a",))
    with pytest.raises(ValueError, match="reference"):
        history_relevance(lambda h: 0.0, np.zeros((5, 2)), ("a", "b"), np.zeros(3))


class _Tracker:
    """A stand-in for a prognosis tracker: RUL falls with the mean rms of the last 3 rows."""

    def __init__(self, model: dict) -> None:
        self.model = model
        self.rows: list[np.ndarray] = []

    def update(self, t_s: float, row: np.ndarray) -> None:
        self.rows.append(np.asarray(row))

    def estimate(self):
        rms = np.mean([r[0] for r in self.rows[-3:]])
        return type("Estimate", (), {"rul_s": self.model["life_s"] - 100.0 * rms})()


def test_recent_history_replays_only_the_window_and_blames_the_rise():
    from pm_monitor.core.explain.rul_relevance import RecentHistory

    model = {"life_s": 1000.0}
    tracker, history = _Tracker(model), RecentHistory(window=8, healthy_snapshots=4)
    assert history.explain(("rms", "kurtosis")) is None
    for i in range(20):
        row = np.array([1.0 if i < 17 else 4.0, 3.0])  # rms jumps in the last 3 snapshots
        history.before_update(tracker, 10.0 * i, row)
        tracker.update(10.0 * i, row)
    assert len(history) == 8
    frozen = history.frozen()
    history.before_update(tracker, 999.0, np.array([9.0, 9.0]))  # does not reach the copy
    assert frozen.rows()[0][-1] == 190.0 and history.rows()[0][-1] == 999.0
    history = frozen
    explanation = history.explain(("rms", "kurtosis"), n_blocks=4, n_permutations=6)
    assert explanation.estimate == pytest.approx(tracker.estimate().rul_s) == 600.0
    assert explanation.reference_estimate == pytest.approx(900.0)  # healthy rms = 1
    assert explanation.block_start_s[0] == 120.0 and explanation.block_end_s[-1] == 190.0
    assert explanation.relevance[1].tolist() == pytest.approx([0.0] * 4, abs=1e-9)
    assert explanation.relevance[0].sum() == pytest.approx(-300.0)
    assert explanation.relevance[0, :2].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert explanation.conservation_error < 1e-6
    assert "rms at 1" in explanation.summary and "lowered" in explanation.summary
    assert history._states[0].model is model  # the copies share the model
