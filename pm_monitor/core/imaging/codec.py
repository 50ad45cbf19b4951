"""Decode and encode the fields of sensor_msgs/Image and sensor_msgs/CompressedImage without
cv_bridge or image_transport.

cv_bridge and image_transport are not installable from PyPI, and the monitor only needs a
handful of encodings, so this is a small, strict codec: every inconsistency between encoding,
width, height, step and data length raises `ImageDecodeError` with a message an operator can
act on. `decompress` turns a CompressedImage of image_transport's "compressed" (JPEG/PNG) and
"compressedDepth" (PNG) plugins into the RawImage the publisher compressed, so `decode` and
everything after it are the same for both transports.
"""
from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image


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


# --- sensor_msgs/CompressedImage ----------------------------------------------------------------

@dataclass(frozen=True)
class CompressedImageData:
    """The wire fields of sensor_msgs/CompressedImage (minus the header)."""

    format: str
    data: bytes


@dataclass(frozen=True)
class CompressedFormat:
    """What a CompressedImage.format says, as image_transport_plugins write it:
    "<enc>; jpeg compressed <target>", "<enc>; png compressed <target>" (compressed plugin;
    <target> is "bgr8"/"bgr16" for colour and empty for mono), bare "jpeg"/"png" (publishers
    older than the encoding prefix), "<enc>; compressedDepth png" / "<enc>; compressedDepth"
    and a bare "<enc>" (compressedDepth plugin, old and new)."""

    encoding: str  # of the image the publisher compressed; "" if it did not say (bare format)
    codec: str  # "jpeg" or "png"
    depth: bool  # compressedDepth: a ConfigHeader precedes the PNG
    # colour written from BGR, so the file holds true colours; publishers that wrote RGB
    # without saying "bgr" left the file's channels swapped (the subscriber swaps back)
    true_colour: bool = True

    @property
    def lossless(self) -> bool:
        """PNG of integer pixels; JPEG is lossy, compressedDepth's 32FC1 is quantised."""
        return self.codec == "png" and not (self.depth and self.encoding == "32FC1")


# compressed_depth_image_transport's ConfigHeader: enum format (int32, INV_DEPTH = 0), float
# depthParam[2], copied with memcpy on little-endian machines (x86, ARM): 12 bytes
DEPTH_CONFIG_HEADER = struct.Struct("<iff")
_COMPRESSED = re.compile(r"(jpeg|png|tiff) compressed ?(\S*)")
_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG"}
_COLOUR = ("rgb8", "bgr8", "rgba8", "bgra8")
_COMPRESSIBLE = {"jpeg": ("mono8", "8UC1", *_COLOUR),
                 "png": ("mono8", "8UC1", "mono16", "16UC1", *_COLOUR),
                 "depth": ("mono16", "16UC1", "32FC1")}
SUPPORTED_COMPRESSED_FORMATS = ('"<enc>; jpeg compressed [bgr8]"', '"<enc>; png compressed '
                                '[bgr8]"', '"jpeg"', '"png"', '"<enc>; compressedDepth [png]"')


def parse_compressed_format(text: str) -> CompressedFormat:
    """The CompressedFormat of a CompressedImage.format string; ImageDecodeError if not one
    of the formats this codec decodes."""
    encoding, separator, rest = (part.strip() for part in text.partition(";"))
    if not separator:
        if encoding.lower() in ("jpeg", "jpg", "png"):
            codec = "png" if encoding.lower() == "png" else "jpeg"
            return CompressedFormat("", codec, depth=False)
        if encoding in _COMPRESSIBLE["depth"]:  # compressedDepth before it named its codec
            return CompressedFormat(encoding, "png", depth=True)
    elif rest.startswith("compressedDepth"):
        depth_codec = rest.removeprefix("compressedDepth").strip()
        if depth_codec in ("", "png"):
            return CompressedFormat(encoding, "png", depth=True)
        raise ImageDecodeError(
            f"compressedDepth {depth_codec!r} is not supported, only png: set the publisher's "
            "<topic>.compressedDepth.format parameter to png")
    elif (match := _COMPRESSED.fullmatch(rest)) is not None:
        codec, target = match.groups()
        if codec == "tiff":
            raise ImageDecodeError("tiff compressed images are not supported, only jpeg and "
                                   "png: set the publisher's <topic>.compressed.format "
                                   "parameter to png")
        return CompressedFormat(encoding, codec, depth=False,
                                true_colour=target.startswith("bgr"))
    raise ImageDecodeError(f"unsupported compressed format {text!r} (supported: "
                           f"{', '.join(SUPPORTED_COMPRESSED_FORMATS)})")


def decompress(image: CompressedImageData, max_pixels: int = DEFAULT_MAX_PIXELS,
               radiometric: bool = False) -> RawImage:
    """The RawImage the publisher compressed: `decode` of it gives what `decode` gives for
    the raw Image (bit for bit with PNG; JPEG is lossy).

    radiometric: the pixels are temperatures (thermal), so a lossy format is refused: JPEG
    keeps 8 bits of a rescaled picture and no temperature scale, compressedDepth's 32FC1 is
    inverse-depth quantised (coarse at high values, NaN above the publisher's depth_max).
    The image size is checked against max_pixels from the header, before decoding."""
    fmt = parse_compressed_format(image.format)
    allowed = _COMPRESSIBLE["depth" if fmt.depth else fmt.codec]
    if fmt.encoding and fmt.encoding not in allowed:
        raise ImageDecodeError(
            f"format {image.format!r}: {fmt.encoding!r} cannot come out of "
            f"{'compressedDepth' if fmt.depth else fmt.codec} (expected one of "
            f"{', '.join(allowed)})")
    if radiometric and not fmt.lossless:
        raise ImageDecodeError(
            f"format {image.format!r} is lossy and has no temperature scale: thermal images "
            "must stay radiometric; publish mono16/16UC1 counts with the compressed "
            "transport's png format (publisher parameter <topic>.compressed.format: png) or "
            "over compressedDepth, or subscribe to the raw image (thermal_transport: raw)")
    data = bytes(image.data)
    quant = (0.0, 0.0)
    if fmt.depth:
        if len(data) <= DEPTH_CONFIG_HEADER.size:
            raise ImageDecodeError(f"compressedDepth data of {len(data)} bytes: shorter than "
                                   f"its {DEPTH_CONFIG_HEADER.size}-byte header and a PNG")
        _, quant_a, quant_b = DEPTH_CONFIG_HEADER.unpack_from(data)
        quant = (quant_a, quant_b)
        data = data[DEPTH_CONFIG_HEADER.size:]
    pixels = _read_pixels(data, fmt.codec, max_pixels)
    if fmt.depth:
        if radiometric and (zeros := int(np.count_nonzero(pixels == 0))):
            # 0 is compressedDepth's "no value": its publisher writes it for every count
            # above depth_max x 1000 (default depth_max 10 m -> 10000 counts, -173 deg C in
            # centikelvin), so a warm frame arrives as holes that would read as cold
            raise ImageDecodeError(
                f"{zeros} pixels are 0 (no value) in a compressedDepth thermal image: its "
                "publisher zeroes counts above depth_max x 1000; set the publisher parameter "
                "<topic>.compressedDepth.depth_max to 65.535 (the whole 16-bit range)")
        return _depth_image(pixels, fmt.encoding, quant)
    return _compressed_image(pixels, fmt)


def _read_pixels(data: bytes, codec: str, max_pixels: int) -> np.ndarray:
    """Pillow-decoded pixels: (H, W) uint8 / uint16 or (H, W, 3|4) uint8 RGB(A). Only the one
    Pillow plugin of the codec is tried; the size in the header is checked before the pixel
    data are decompressed, so a hostile header cannot make us allocate gigabytes."""
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[codec]]) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageDecodeError(f"zero-size {codec} image ({width}x{height})")
            if width * height > max_pixels:
                raise ImageDecodeError(f"{codec} image {width}x{height} exceeds the limit of "
                                       f"{max_pixels} pixels")
            img.load()
            mode, pixels = img.mode, np.asarray(img)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # Pillow's own guard, at open, fires beyond its MAX_IMAGE_PIXELS (89 M, above ours)
        raise ImageDecodeError(f"{codec} image exceeds the limit of {max_pixels} pixels "
                               f"({err})") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error,
            zlib.error) as err:
        # Pillow's errors for truncated, corrupt or unidentifiable data
        raise ImageDecodeError(f"corrupt {codec} data: {err}") from None
    if mode in ("L", "RGB", "RGBA") or mode.startswith("I;16"):
        return pixels.astype(pixels.dtype.newbyteorder("="), copy=False)
    if mode == "I" and pixels.size and pixels.min() >= 0 and pixels.max() <= 65535:
        return pixels.astype(np.uint16)
    raise ImageDecodeError(f"unsupported {codec} pixel mode {mode!r} (expected 8-bit grey, "
                           "RGB, RGBA or 16-bit grey)")


def _compressed_image(pixels: np.ndarray, fmt: CompressedFormat) -> RawImage:
    """Pixels of image_transport's "compressed" plugin back in the encoding they were
    published in; a bare format ("jpeg"/"png") names none: the picture as decoded."""
    if not fmt.encoding:
        return encode(pixels, _decoded_encoding(pixels))
    if fmt.encoding in _COLOUR and pixels.ndim == 3 and pixels.dtype == np.uint8:
        rgb = pixels[:, :, :3] if fmt.true_colour else pixels[:, :, 2::-1]
        return encode(_from_rgb(rgb, fmt.encoding), fmt.encoding)
    expected = PIXEL_FORMATS[fmt.encoding]
    if fmt.encoding not in _COLOUR and pixels.ndim == 2 and pixels.dtype == expected.dtype:
        return encode(pixels, fmt.encoding)
    raise ImageDecodeError(
        f"{fmt.codec} data of shape {pixels.shape} ({pixels.dtype}) do not fit the encoding "
        f"{fmt.encoding!r} the format names")


def _decoded_encoding(pixels: np.ndarray) -> str:
    if pixels.ndim == 2:
        return "mono16" if pixels.dtype == np.uint16 else "mono8"
    return "rgba8" if pixels.shape[2] == 4 else "rgb8"


def _from_rgb(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """RGB -> a colour encoding; the publisher dropped alpha (opaque, as image_transport's
    subscriber fills it)."""
    if encoding == "rgb8":
        return rgb
    bgr = rgb[:, :, ::-1]
    if encoding == "bgr8":
        return bgr
    alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    return np.concatenate((rgb if encoding == "rgba8" else bgr, alpha), axis=2)


def _depth_image(pixels: np.ndarray, encoding: str, quant: tuple[float, float]) -> RawImage:
    """compressedDepth: 16-bit data as they are; 32FC1 from its inverse-depth quantisation
    (value = A / (q - B), q = 0 -> NaN), computed in float32 as the upstream decoder does."""
    if pixels.ndim != 2 or pixels.dtype != np.uint16:
        raise ImageDecodeError(f"compressedDepth PNG of shape {pixels.shape} ({pixels.dtype}):"
                               " expected 16-bit grey")
    if encoding != "32FC1":
        return encode(pixels, encoding)
    quant_a, quant_b = np.float32(quant[0]), np.float32(quant[1])
    if not (np.isfinite(quant_a) and np.isfinite(quant_b)):
        raise ImageDecodeError(f"compressedDepth 32FC1 with invalid quantisation {quant}")
    with np.errstate(divide="ignore", invalid="ignore"):
        values = quant_a / (pixels.astype(np.float32) - quant_b)
    return encode(np.where(pixels == 0, np.float32(np.nan), values).astype(np.float32),
                  "32FC1")
