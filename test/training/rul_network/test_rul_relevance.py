"""LRP of the offline paper-002 network: forward unchanged, conservation, equal to captum's LRP
where captum covers the layers."""
import numpy as np
import pytest
import torch
from captum.attr import LRP
from torch import nn

from pm_monitor.training.rul_network.network import NetConfig, RulNet
from pm_monitor.training.rul_network.relevance import (
    ensemble_relevance,
    network_relevance,
    rulnet_logits_lrp,
)


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
