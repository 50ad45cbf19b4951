"""The paper-002 network: shapes, range, gradients to every parameter, ONNX export parity."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pm_monitor.training.rul_network.network import OUTPUT_NAMES, NetConfig, RulNet


def inputs(batch: int, cfg: NetConfig) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(batch, cfg.steps, cfg.levels, cfg.image_width, generator=gen) < 0.1)
    return images.float(), torch.randn(batch, cfg.steps, cfg.n_features, generator=gen)


def test_output_shape_and_range():
    cfg = NetConfig()
    torch.manual_seed(0)
    out = RulNet(cfg)(*inputs(5, cfg))
    assert out.shape == (5, len(OUTPUT_NAMES))
    assert torch.all((out >= 0) & (out <= 1))


def test_every_parameter_gets_a_gradient():
    cfg = NetConfig()
    torch.manual_seed(0)
    net = RulNet(cfg)
    net(*inputs(3, cfg)).sum().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


def test_too_small_image_is_refused():
    with pytest.raises(ValueError, match="too small"):
        RulNet(NetConfig(levels=16, image_width=16))


def test_onnx_export_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    cfg = NetConfig()
    torch.manual_seed(0)
    net = RulNet(cfg).eval()
    images, features = inputs(2, cfg)
    path = tmp_path / "rul.onnx"
    torch.onnx.export(net, (images, features), str(path), input_names=["images", "features"],
                      output_names=["rul"], opset_version=17, dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": images.numpy(), "features": features.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(images, features).numpy(), atol=1e-5)
