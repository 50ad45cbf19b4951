"""Shapes, gradients and input checks of the real-data Stage 2 and sound models."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.explain.gradcam import grad_cam
from pm_monitor.core.models.acoustic_anomaly import SpectrogramAutoencoder, load_acoustic_model
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.camera_defect import (
    CameraDefectNet,
    normalise_grey_image,
    peak_position,
    resize_grey,
)
from pm_monitor.core.models.thermal_classifier import (
    downscale,
    normalise_palette_frame,
)
from pm_monitor.core.models.thermal_resnet import ThermalResNet


def test_thermal_classifier_shapes_and_gradients():
    model = ThermalResNet(n_classes=11, width=8)
    image = torch.randn(3, 1, 48, 64, requires_grad=True)
    out = model(image)
    assert out.logits.shape == (3, 11)
    assert out.spatial_attention.shape == (3, 1, 6, 8)
    out.logits.sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_thermal_classifier_gradcam_layer_gives_a_heatmap():
    model = ThermalResNet(n_classes=4, width=8).eval()
    result = grad_cam(model, model.gradcam_layer, torch.randn(1, 1, 48, 64))
    assert result.heatmap.shape == (48, 64)
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() <= 1.0


def test_thermal_classifier_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        ThermalResNet()(torch.randn(2, 3, 48, 64))
    with pytest.raises(ValueError):
        ThermalResNet(n_classes=1)


def test_palette_normalisation_ignores_an_offset_and_downscale_averages_blocks():
    frame = np.random.default_rng(0).integers(0, 200, size=(240, 320)).astype(np.float32)
    np.testing.assert_allclose(normalise_palette_frame(frame),
                               normalise_palette_frame(frame + 20), atol=1e-5)
    small = downscale(frame, 5)
    assert small.shape == (48, 64)
    assert small[0, 0] == pytest.approx(frame[:5, :5].mean())
    with pytest.raises(ValueError, match="cannot downscale"):
        downscale(frame, 7)


def test_camera_defect_shapes_gradients_and_cam():
    model = CameraDefectNet(n_classes=6, width=8)
    image = torch.randn(2, 1, 64, 64, requires_grad=True)
    logits = model(image)
    assert logits.shape == (2, 6)
    logits.sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()
    model.eval()
    image = image.detach()
    cams = model.class_activation_maps(image, torch.tensor([0, 5]))
    assert cams.shape == (2, 64, 64)
    # CAM of class c averaged over the (pre-upsampling) map = logit_c - bias_c
    with torch.no_grad():
        features = model.feature_map(image)
        raw = torch.einsum("k,khw->hw", model.classifier.weight[0], features[0])
        logit = model(image)[0, 0] - model.classifier.bias[0]
    assert float(raw.mean()) == pytest.approx(float(logit), abs=1e-4)


def test_camera_cam_equals_gradcam_on_gradcam_layer():
    """With GAP + linear, Grad-CAM's weights are the classifier's (/ h w): same map."""
    torch.manual_seed(0)
    model = CameraDefectNet(n_classes=3, width=4).eval()
    image = torch.randn(1, 1, 64, 64)
    with torch.no_grad():  # Grad-CAM clips negatives before upsampling: do the same
        low = torch.relu(torch.einsum("k,khw->hw", model.classifier.weight[1],
                                      model.feature_map(image)[0]))
        cam = torch.nn.functional.interpolate(low[None, None], size=(64, 64),
                                              mode="bilinear", align_corners=False)[0, 0]
    heatmap = grad_cam(model, model.gradcam_layer, image, target_class=1).heatmap
    assert float(cam.max()) > 0
    np.testing.assert_allclose((cam / cam.max()).numpy(), heatmap, atol=1e-4)
    unclipped = model.class_activation_maps(image, torch.tensor([1]))[0].numpy()
    assert heatmap[peak_position(unclipped)] == pytest.approx(1.0, abs=1e-3)


def test_grey_normalisation_removes_brightness_and_contrast():
    image = np.random.default_rng(1).integers(0, 255, size=(64, 64)).astype(np.float32)
    np.testing.assert_allclose(normalise_grey_image(image),
                               normalise_grey_image(image * 0.5 + 40), atol=1e-4)
    assert np.all(normalise_grey_image(np.full((8, 8), 7.0)) == 0)  # flat image: no NaN


def test_autoencoder_shapes_gradients_and_patch_errors():
    model = SpectrogramAutoencoder(n_bands=64, n_frames=32, width=4, code_size=8)
    patches = torch.randn(5, 1, 64, 32)
    reconstruction = model(patches)
    assert reconstruction.shape == patches.shape
    ((reconstruction - patches) ** 2).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    errors = model.patch_errors(patches)
    assert errors.shape == (5,) and torch.all(errors > 0)


def test_autoencoder_refuses_bad_shapes():
    with pytest.raises(ValueError, match="multiples of 8"):
        SpectrogramAutoencoder(n_bands=60)
    with pytest.raises(ValueError, match="expected"):
        SpectrogramAutoencoder()(torch.randn(2, 1, 64, 16))


def test_resize_grey_refuses_colour_or_float_images():
    assert resize_grey(np.zeros((200, 200), dtype=np.uint8), 64).shape == (64, 64)
    with pytest.raises(ValueError, match="uint8 grey"):
        resize_grey(np.zeros((200, 200, 3), dtype=np.uint8), 64)
    with pytest.raises(ValueError, match="uint8 grey"):
        resize_grey(np.zeros((200, 200), dtype=np.float32), 64)


def test_acoustic_model_loads_with_its_features_and_refuses_incomplete_metadata(tmp_path):
    shipped = Path(__file__).resolve().parents[3] / "models" / "machine_sound" / "fan_id_00.pt"
    model, standardiser, spec_config, meta = load_acoustic_model(shipped)
    assert spec_config.n_fft == 2048 and spec_config.hop == 1024
    assert standardiser.mean.shape == (model.n_bands,) and meta["machine"] == "fan/id_00"
    copy = tmp_path / "fan_id_00.pt"
    shutil.copy(shipped, copy)
    broken = json.loads(shipped.with_suffix(".json").read_text())
    del broken["features"]["band_mean"]
    copy.with_suffix(".json").write_text(json.dumps(broken))
    with pytest.raises(ModelLoadError, match="band_mean"):
        load_acoustic_model(copy)
