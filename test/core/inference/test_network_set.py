"""NetworkSet: any named networks on one inference configuration, fallbacks reported."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pm_monitor.core.inference import InferenceConfig, NetworkSet, cam_heatmap
from pm_monitor.core.inference.runners import OnnxRuntimeRunner
from pm_monitor.core.inference.specs import acoustic_spec, anomaly_spec, camera_spec
from pm_monitor.core.models.acoustic_anomaly import SpectrogramAutoencoder
from pm_monitor.core.models.autoencoder import FeatureAutoencoder
from pm_monitor.core.models.camera_defect import CameraDefectNet


@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    return {
        "anomaly": (anomaly_spec(6), FeatureAutoencoder(6).eval()),
        "camera": (camera_spec(32), CameraDefectNet(n_classes=3, width=4).eval()),
        "acoustic": (acoustic_spec(16, 8), SpectrogramAutoencoder(16, 8, width=2).eval()),
    }


def test_networks_run_by_name_on_the_requested_backend(networks, tmp_path):
    nets = NetworkSet.create(networks, InferenceConfig(backend="onnxruntime",
                                                       engine_cache_dir=str(tmp_path)))
    assert nets.names == ("anomaly", "camera", "acoustic") and "camera" in nets
    assert {nets.backend_of(name) for name in nets} == {"onnxruntime"}
    assert nets.summary().startswith("anomaly=onnxruntime(CPUExecutionProvider), camera=")
    assert len(nets.report) == 3 and all("using onnxruntime" in line for line in nets.report)
    reference = NetworkSet.create(networks)  # default: torch, no files written
    assert {reference.backend_of(name) for name in reference} == {"torch"}
    image = {"image": np.random.default_rng(0).standard_normal((2, 1, 32, 32), np.float32)}
    got, want = nets.run("camera", image), reference.run("camera", image)
    assert got["location_probabilities"].shape == (2, 3) and got["cam"].shape == (2, 3, 4, 4)
    np.testing.assert_allclose(got["location_probabilities"], want["location_probabilities"],
                               atol=1e-5)
    patches = {"patches": np.zeros((5, 1, 16, 8), np.float32)}
    assert nets.run("acoustic", patches)["patch_error"].shape == (5,)


def test_a_backend_that_cannot_load_falls_back_with_the_reason(networks, tmp_path,
                                                               monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise RuntimeError("no session today")

    monkeypatch.setattr(OnnxRuntimeRunner, "__init__", broken)
    nets = NetworkSet.create({"anomaly": networks["anomaly"]},
                             InferenceConfig(backend="onnxruntime",
                                             engine_cache_dir=str(tmp_path)))
    assert nets.backend_of("anomaly") == "torch"
    assert "onnxruntime unavailable: unexpected RuntimeError: no session today" in nets.report[0]
    assert "using torch on cpu (first working fallback)" in nets.report[1]
    assert "no session today" in caplog.text  # logged, not only returned


def test_names_inputs_and_model_sets_are_checked(networks):
    nets = NetworkSet.create({"anomaly": networks["anomaly"]})
    with pytest.raises(KeyError, match=r"no network 'stage1'; this set has \['anomaly'\]"):
        nets.run("stage1", {})
    with pytest.raises(ValueError, match="missing inputs"):
        nets.run("anomaly", {"features": np.zeros((1, 6), np.float32)})
    nets.require({"anomaly": anomaly_spec(6)})
    with pytest.raises(ValueError, match="anomaly runner was built for inputs"):
        nets.require({"anomaly": anomaly_spec(7)})
    with pytest.raises(ValueError, match=r"no runner for \['camera'\]"):
        nets.require({"camera": camera_spec(32)})
    with pytest.raises(ValueError, match="has a spec named 'anomaly'"):
        NetworkSet.create({"autoencoder": networks["anomaly"]})
    with pytest.raises(ValueError, match="at least one network"):
        NetworkSet.create({})


def test_cam_heatmap_upsamples_and_scales_like_grad_cam():
    cam = np.zeros((4, 4), np.float32)
    cam[1, 2] = 3.0
    heatmap = cam_heatmap(cam, (32, 32))
    assert heatmap.shape == (32, 32) and heatmap.dtype == np.float32
    assert heatmap.max() == pytest.approx(1.0) and heatmap.min() >= 0.0
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    assert (row // 8, col // 8) == (1, 2)
    assert not cam_heatmap(np.zeros((4, 4), np.float32), (8, 8)).any()  # nothing: all zero
