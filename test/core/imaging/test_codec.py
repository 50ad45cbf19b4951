import numpy as np
import pytest

from pm_monitor.core.imaging.codec import (
    ImageDecodeError,
    RawImage,
    decode,
    encode,
    from_celsius,
    to_celsius,
    to_rgb8,
)


@pytest.mark.parametrize("encoding,dtype,shape", [
    ("rgb8", np.uint8, (4, 5, 3)), ("bgra8", np.uint8, (4, 5, 4)), ("mono8", np.uint8, (4, 5)),
    ("mono16", np.uint16, (4, 5)), ("32FC1", np.float32, (4, 5)),
])
def test_round_trip(encoding, dtype, shape):
    rng = np.random.default_rng(0)
    pixels = (rng.random(shape) * 200).astype(dtype)
    np.testing.assert_array_equal(decode(encode(pixels, encoding)), pixels)


def test_padded_rows_are_cropped():
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    padded = np.zeros((3, 8), np.uint8)
    padded[:, :4] = pixels
    raw = RawImage("mono8", 3, 4, 8, False, padded.tobytes())
    np.testing.assert_array_equal(decode(raw), pixels)


def test_big_endian_16bit_is_swapped():
    pixels = np.array([[1, 256, 65535]], np.uint16)
    raw = RawImage("mono16", 1, 3, 6, True, pixels.astype(">u2").tobytes())
    np.testing.assert_array_equal(decode(raw), pixels)


@pytest.mark.parametrize("raw,message", [
    (RawImage("yuv422", 2, 2, 4, False, bytes(8)), "unsupported encoding"),
    (RawImage("rgb8", 0, 2, 6, False, b""), "zero-size"),
    (RawImage("rgb8", 2, 2, 5, False, bytes(10)), "step 5 < width"),
    (RawImage("rgb8", 2, 2, 6, False, bytes(11)), "data length 11"),
    (RawImage("mono8", 100_000, 100_000, 100_000, False, b""), "exceeds the limit"),
])
def test_inconsistent_images_are_refused_with_a_reason(raw, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode(raw)


def test_colour_conversions():
    rgb = np.array([[[10, 20, 30]]], np.uint8)
    assert to_rgb8(rgb[:, :, ::-1].copy(), "bgr8").tolist() == rgb.tolist()
    assert to_rgb8(np.array([[7]], np.uint8), "mono8").tolist() == [[[7, 7, 7]]]
    with pytest.raises(ImageDecodeError):
        to_rgb8(np.zeros((1, 1), np.uint16), "mono16")


def test_thermal_centikelvin_round_trip():
    celsius = np.array([[20.0, 85.25]], np.float32)
    np.testing.assert_allclose(to_celsius(from_celsius(celsius), "mono16"), celsius, atol=0.01)
    np.testing.assert_array_equal(to_celsius(celsius, "32FC1"), celsius)
    with pytest.raises(ImageDecodeError, match="thermal"):
        to_celsius(np.zeros((1, 1), np.uint8), "rgb8")
