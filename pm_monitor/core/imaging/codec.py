"""Decode and encode the fields of sensor_msgs/Image without cv_bridge.

cv_bridge is not installable from PyPI, and the monitor only needs a handful of encodings, so
this is a small, strict codec: every inconsistency between encoding, width, height, step and
data length raises `ImageDecodeError` with a message an operator can act on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class ImageDecodeError(ValueError):
    """The image fields are inconsistent or the encoding is not supported."""


@dataclass(frozen=True)
class PixelFormat:
    dtype: np.dtype
    channels: int

    @property
    def bytes_per_pixel(self) -> int:
        return self.dtype.itemsize * self.channels


# Encodings as named in sensor_msgs/image_encodings.hpp.
PIXEL_FORMATS: dict[str, PixelFormat] = {
    "rgb8": PixelFormat(np.dtype(np.uint8), 3),
    "bgr8": PixelFormat(np.dtype(np.uint8), 3),
    "rgba8": PixelFormat(np.dtype(np.uint8), 4),
    "bgra8": PixelFormat(np.dtype(np.uint8), 4),
    "mono8": PixelFormat(np.dtype(np.uint8), 1),
    "8UC1": PixelFormat(np.dtype(np.uint8), 1),
    "mono16": PixelFormat(np.dtype(np.uint16), 1),
    "16UC1": PixelFormat(np.dtype(np.uint16), 1),
    "32FC1": PixelFormat(np.dtype(np.float32), 1),
}

# 8192 x 8192 pixels: far beyond any camera we expect, small enough that a corrupt header
# cannot make us allocate gigabytes.
DEFAULT_MAX_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class RawImage:
    """The wire fields of sensor_msgs/Image (minus the header)."""

    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: bool
    data: bytes


def decode(raw: RawImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return the pixels as (H, W) or (H, W, C) in the encoding's own dtype and channel order."""
    fmt = PIXEL_FORMATS.get(raw.encoding)
    if fmt is None:
        raise ImageDecodeError(
            f"unsupported encoding {raw.encoding!r} (supported: {', '.join(PIXEL_FORMATS)})")
    if raw.height <= 0 or raw.width <= 0:
        raise ImageDecodeError(f"zero-size image ({raw.width}x{raw.height})")
    if raw.height * raw.width > max_pixels:
        raise ImageDecodeError(
            f"image {raw.width}x{raw.height} exceeds the limit of {max_pixels} pixels")
    row_bytes = raw.width * fmt.bytes_per_pixel
    if raw.step < row_bytes:
        raise ImageDecodeError(
            f"step {raw.step} < width {raw.width} x {fmt.bytes_per_pixel} bytes per pixel "
            f"({raw.encoding})")
    if len(raw.data) != raw.step * raw.height:
        raise ImageDecodeError(
            f"data length {len(raw.data)} != step {raw.step} x height {raw.height}")
    buf = np.frombuffer(raw.data, dtype=np.uint8).reshape(raw.height, raw.step)[:, :row_bytes]
    dtype = fmt.dtype.newbyteorder(">" if raw.is_bigendian else "<")
    pixels = np.ascontiguousarray(buf).view(dtype).astype(fmt.dtype, copy=False)
    shape = (raw.height, raw.width) if fmt.channels == 1 else (raw.height, raw.width, fmt.channels)
    return pixels.reshape(shape)


def encode(pixels: np.ndarray, encoding: str) -> RawImage:
    """Encode a numpy image (little-endian, tightly packed rows)."""
    fmt = PIXEL_FORMATS.get(encoding)
    if fmt is None:
        raise ImageDecodeError(f"unsupported encoding {encoding!r}")
    expected_ndim = 2 if fmt.channels == 1 else 3
    if pixels.ndim != expected_ndim or (fmt.channels > 1 and pixels.shape[2] != fmt.channels):
        raise ImageDecodeError(f"array of shape {pixels.shape} does not fit encoding {encoding}")
    height, width = pixels.shape[:2]
    data = np.ascontiguousarray(pixels, dtype=fmt.dtype.newbyteorder("<")).tobytes()
    return RawImage(encoding, height, width, width * fmt.bytes_per_pixel, False, data)


def to_rgb8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """Camera frame in any colour/mono 8-bit encoding -> (H, W, 3) uint8 RGB."""
    if encoding == "rgb8":
        return pixels
    if encoding == "bgr8":
        return pixels[:, :, ::-1]
    if encoding == "rgba8":
        return pixels[:, :, :3]
    if encoding == "bgra8":
        return pixels[:, :, 2::-1]
    if encoding in ("mono8", "8UC1"):
        return np.repeat(pixels[:, :, None], 3, axis=2)
    raise ImageDecodeError(f"camera images must be 8-bit colour or mono, got {encoding!r}")


@dataclass(frozen=True)
class RadiometricScale:
    """Raw 16-bit thermal counts -> deg C as counts * scale + offset.

    The default is the centikelvin convention of radiometric cameras such as the FLIR Lepton
    with TLinear enabled (counts = 100 x kelvin).
    """

    scale: float = 0.01
    offset_c: float = -273.15


def to_celsius(pixels: np.ndarray, encoding: str,
               radiometric: RadiometricScale | None = None) -> np.ndarray:
    """Thermal frame (mono16 / 16UC1 raw counts, or 32FC1 already in deg C) -> float32 deg C."""
    radiometric = radiometric or RadiometricScale()
    if encoding in ("mono16", "16UC1"):
        return pixels.astype(np.float32) * np.float32(radiometric.scale) + np.float32(
            radiometric.offset_c)
    if encoding == "32FC1":
        return pixels.astype(np.float32, copy=False)
    raise ImageDecodeError(
        f"thermal images must be mono16/16UC1 (raw) or 32FC1 (deg C), got {encoding!r}")


def from_celsius(celsius: np.ndarray,
                 radiometric: RadiometricScale | None = None) -> np.ndarray:
    """deg C -> raw 16-bit counts (inverse of to_celsius), clipped to the uint16 range."""
    radiometric = radiometric or RadiometricScale()
    counts = np.rint((celsius - radiometric.offset_c) / radiometric.scale)
    return np.clip(counts, 0, 65535).astype(np.uint16)
