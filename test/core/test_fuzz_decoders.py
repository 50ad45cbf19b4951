"""Fuzz the message decoders: random Image, CompressedImage and SensorChunk fields never crash
them; the only error is the decoder's own (ImageDecodeError / ChunkDecodeError), and what they
accept is consistent (shape, dtype, finite samples)."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.imaging.codec import (
    PIXEL_FORMATS,
    CompressedImageData,
    ImageDecodeError,
    RawImage,
    decode,
    decompress,
    to_celsius,
    to_rgb8,
)

FUZZ = settings(max_examples=1000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MAX_PIXELS = 64 * 64

# Mostly valid encodings and plausible sizes, so most examples get past the first checks and
# exercise the size, step and byte-order paths; the rest are anything.
_mostly_valid = st.sampled_from([True] * 4 + [False])
encodings = st.one_of(st.sampled_from(["", "bayer_rggb8", "yuv422", "64FC1", "RGB8"]),
                      st.text(max_size=8))
sizes = st.one_of(st.integers(-3, 0), st.integers(-2**40, 2**40))


@st.composite
def raw_images(draw) -> RawImage:
    valid = st.sampled_from(sorted(PIXEL_FORMATS))
    encoding = draw(valid if draw(_mostly_valid) else encodings)
    height, width = (draw(st.integers(1, 70) if draw(_mostly_valid) else sizes)
                     for _ in range(2))
    fmt = PIXEL_FORMATS.get(encoding)
    row = width * fmt.bytes_per_pixel if fmt and width > 0 else draw(st.integers(0, 64))
    step = draw(st.one_of(st.just(row), st.integers(-5, 300), st.integers(row, row + 8)))
    if draw(st.booleans()) and 0 < height <= 70 and 0 < step <= 400:
        data = draw(st.binary(min_size=step * height, max_size=step * height))
    else:
        data = draw(st.binary(max_size=512))
    return RawImage(encoding, height, width, step, draw(st.booleans()), data)


@FUZZ
@given(raw_images())
def test_image_decoder_accepts_consistent_fields_and_refuses_the_rest(raw):
    try:
        pixels = decode(raw, MAX_PIXELS)
    except ImageDecodeError as err:
        assert str(err)
        return
    fmt = PIXEL_FORMATS[raw.encoding]
    assert pixels.shape[:2] == (raw.height, raw.width) and pixels.dtype == fmt.dtype
    assert raw.height * raw.width <= MAX_PIXELS
    for convert in (lambda: to_celsius(pixels, raw.encoding),
                    lambda: to_rgb8(pixels, raw.encoding)):
        try:
            image = convert()
        except ImageDecodeError:
            continue
        assert image.shape[:2] == (raw.height, raw.width)


def _payload(shape: tuple[int, ...], dtype, codec: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    pixels = (np.arange(int(np.prod(shape))) * 37 % 251).astype(dtype).reshape(shape)
    Image.fromarray(pixels).save(buf, format=codec)
    return buf.getvalue()


# valid payloads of each kind, then damaged: bytes flipped, cut short, or random
_SEEDS = {
    "mono8; jpeg compressed ": _payload((9, 13), np.uint8, "JPEG"),
    "rgb8; jpeg compressed bgr8": _payload((9, 13, 3), np.uint8, "JPEG"),
    "bgr8; png compressed bgr8": _payload((9, 13, 3), np.uint8, "PNG"),
    "mono16; png compressed ": _payload((9, 13), np.uint16, "PNG"),
    "png": _payload((9, 13, 4), np.uint8, "PNG"),
    "16UC1; compressedDepth png": struct.pack("<iff", 0, 0, 0)
    + _payload((9, 13), np.uint16, "PNG"),
    "32FC1; compressedDepth png": struct.pack("<iff", 0, 10100.0, -1009.0)
    + _payload((9, 13), np.uint16, "PNG"),
}
formats = st.one_of(st.sampled_from(sorted(_SEEDS)), st.text(max_size=30),
                    st.sampled_from(["jpeg", "rgb8; tiff compressed bgr8", "x; png compressed",
                                     "16UC1; compressedDepth rvl", "mono8;", ";"]))


@st.composite
def compressed_images(draw) -> CompressedImageData:
    fmt = draw(formats)
    data = bytearray(_SEEDS.get(fmt, _SEEDS[draw(st.sampled_from(sorted(_SEEDS)))]))
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data = bytearray(draw(st.binary(max_size=200)))
    return CompressedImageData(fmt, bytes(data))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compressed_images(), st.booleans())
def test_compressed_decoder_accepts_consistent_payloads_and_refuses_the_rest(image,
                                                                             radiometric):
    try:
        raw = decompress(image, MAX_PIXELS, radiometric=radiometric)
    except ImageDecodeError as err:
        assert str(err)
        return
    pixels = decode(raw, MAX_PIXELS)  # what it gives is a consistent raw image
    assert raw.height * raw.width <= MAX_PIXELS and pixels.shape[:2] == (raw.height, raw.width)


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
rates = st.one_of(floats, st.integers(-10, 10**7), st.sampled_from([0.0, -1.0, 25600.0]))


# float64 samples beyond the float32 range overflow to Inf (and are refused); ROS float32[]
# cannot carry them, so numpy's cast warning is expected here
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@FUZZ
@given(st.lists(floats, max_size=60), st.lists(st.text(max_size=3), max_size=4), rates)
def test_chunk_decoder_accepts_consistent_chunks_and_refuses_the_rest(samples, names, rate):
    try:
        frames = decode_chunk(samples, names, rate)
    except ChunkDecodeError as err:
        assert str(err)
        return
    assert frames.shape == (len(samples) // len(names), len(names))
    assert frames.dtype == np.float32 and np.isfinite(frames).all() and rate > 0
