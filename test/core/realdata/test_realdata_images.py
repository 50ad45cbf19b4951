"""Frames reach the real-data CNNs exactly as in training: thermal_motor through replay_node's
mono16 encoding and the monitor's to_celsius, NEU through mono8 -> rgb8 -> grey."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from realdata_windows import need_data, profile

from pm_monitor.core.imaging.codec import RadiometricScale, decode, encode, to_celsius, to_rgb8
from pm_monitor.core.models.camera_defect import normalise_grey_image, resize_grey
from pm_monitor.core.models.thermal_classifier import downscale, normalise_palette_frame
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    camera_model_input,
    grey_of,
    palette_index_from_celsius,
    thermal_model_input,
)
from pm_monitor.datasets import neu_surface, thermal_motor
from pm_monitor.replay.datasets import thermal_pixels

REPO = Path(__file__).resolve().parents[3]


def monitor_celsius(index: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    """replay_node mono16 -> sensor_msgs/Image bytes -> the monitor pipeline's deg C."""
    raw = encode(thermal_pixels(index, "mono16", span), "mono16")
    return to_celsius(decode(raw), raw.encoding, RadiometricScale())


@pytest.mark.parametrize("span", [(20.0, 80.0), (-10.0, 150.0)])
def test_palette_index_survives_replay_encoding_and_to_celsius(span) -> None:
    index = np.arange(242, dtype=np.uint8).repeat(3).reshape(6, 121)
    recovered = palette_index_from_celsius(monitor_celsius(index, span), span)
    np.testing.assert_array_equal(recovered, index.astype(np.float32))


def test_real_thermal_frame_gets_the_training_input_and_prediction() -> None:
    need_data()
    p = profile()
    span = p.thermal.assumed_span_c
    meta = json.loads((REPO / "models/thermal_motor/thermal_classifier.json").read_text())
    frames = {f.file: f for f in thermal_motor.list_frames()}
    for ref in meta["reference_predictions"]:
        index = thermal_motor.load_palette_index(frames[ref["file"]])
        celsius = monitor_celsius(index, span)
        training = normalise_palette_frame(downscale(index, p.thermal.downscale))
        np.testing.assert_array_equal(thermal_model_input(celsius, span, p.thermal.downscale),
                                      training)
        net = ThermalInput(p.thermal.model, span, p.thermal.downscale).eval()
        with torch.no_grad():
            probs = torch.softmax(net(torch.from_numpy(celsius)[None, None])[0], -1)[0]
        np.testing.assert_allclose(probs.numpy(), ref["probabilities"], atol=1e-4)
        assert p.thermal.class_names[int(probs.argmax())] == ref["predicted"]


def test_thermal_frame_of_another_size_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="multiples of the model's downscale factor 5"):
        thermal_model_input(np.zeros((241, 320), np.float32), (20.0, 80.0), 5)


def test_grey_of_rgb_returns_a_mono_frame_exactly() -> None:
    grey = np.random.default_rng(0).integers(0, 256, (20, 30), dtype=np.uint8)
    np.testing.assert_array_equal(grey_of(to_rgb8(grey, "mono8")), grey)
    colour = np.zeros((2, 2, 3), np.uint8)
    colour[..., 0] = 255  # pure red: ITU-R 601 luma 0.299 x 255
    assert grey_of(colour)[0, 0] == 76
    with pytest.raises(ValueError, match="uint8"):
        grey_of(np.zeros((4, 4, 3), np.float32))


def test_real_neu_image_gets_the_training_input_and_prediction() -> None:
    need_data()
    p = profile()
    meta = json.loads((REPO / "models/neu_surface/camera_defect.json").read_text())
    images = {im.file: im for im in neu_surface.list_images()}
    for ref in meta["reference_predictions"]:
        grey = neu_surface.load_image(images[ref["file"]])
        rgb = to_rgb8(decode(encode(grey, "mono8")), "mono8")  # what the pipeline hands over
        training = normalise_grey_image(resize_grey(grey, p.camera.image_size))
        np.testing.assert_array_equal(camera_model_input(grey_of(rgb), p.camera.image_size),
                                      training)
        net = CameraInput(p.camera.model, p.camera.image_size).eval()
        with torch.no_grad():
            x = torch.from_numpy(grey_of(rgb).astype(np.float32))[None, None]
            probs = torch.softmax(net(x), -1)[0].numpy()
        np.testing.assert_allclose(probs, ref["probabilities"], atol=1e-4)
