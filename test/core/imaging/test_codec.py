import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pm_monitor.core.imaging.codec import (
    CompressedImageData,
    ImageDecodeError,
    RawImage,
    decode,
    decompress,
    encode,
    from_celsius,
    parse_compressed_format,
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


# --- CompressedImageData: payloads built as image_transport_plugins (jazzy) build them ------------
# compressed plugin: cv_bridge converts colour to bgr8 and OpenCV writes a true-colour file;
# format = "<enc>; <jpeg|png> compressed <bgr8 for colour, nothing for mono>".
# compressedDepth plugin: ConfigHeader {int32 format = INV_DEPTH (0); float depthParam[2]}
# memcpy'd before the PNG; format = "<enc>; compressedDepth png".

def _file(pixels: np.ndarray, codec: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=codec.upper(), **options)
    return buf.getvalue()


def _depth_payload(png: bytes, quant_a: float = 0.0, quant_b: float = 0.0) -> bytes:
    return struct.pack("<iff", 0, quant_a, quant_b) + png


def _rng_image(shape, dtype=np.uint8, high=255):
    # smooth picture (JPEG's 8x8 blocks keep it close), not noise
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    base = (np.sin(x / 7.0) + np.cos(y / 5.0) + 2) / 4 * high
    if len(shape) == 3:
        base = np.stack([np.roll(base, 3 * c, axis=1) for c in range(shape[2])], axis=2)
    return base.astype(dtype)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1",
                                      "mono16", "16UC1"])
def test_png_decompresses_to_exactly_the_raw_image(encoding):
    raw = encode(_rng_image((12, 16, 4) if encoding in ("rgba8", "bgra8") else
                            (12, 16, 3) if encoding in ("rgb8", "bgr8") else (12, 16),
                            np.uint16 if "16" in encoding else np.uint8,
                            60000 if "16" in encoding else 255), encoding)
    pixels = decode(raw).copy()
    if encoding in ("rgb8", "bgr8", "rgba8", "bgra8"):
        pixels[..., 3:] = 255  # the publisher drops alpha: an opaque image round-trips
        raw = encode(pixels, encoding)
        true_rgb = to_rgb8(pixels, encoding)
        message = CompressedImageData(f"{encoding}; png compressed bgr8", _file(true_rgb, "png"))
    else:
        message = CompressedImageData(f"{encoding}; png compressed ", _file(pixels, "png"))
    decompressed = decompress(message)
    assert decompressed == raw
    np.testing.assert_array_equal(decode(decompressed), decode(raw))


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "mono8"])
def test_jpeg_decompresses_to_the_raw_images_encoding_shape_and_close_pixels(encoding):
    pixels = _rng_image((48, 64, 3) if encoding != "mono8" else (48, 64))
    target = "bgr8" if encoding != "mono8" else ""
    true_picture = to_rgb8(pixels, encoding) if target else pixels
    message = CompressedImageData(f"{encoding}; jpeg compressed {target}",
                              _file(true_picture, "jpeg", quality=95))
    decoded = decode(decompress(message))
    assert decoded.shape == pixels.shape and decoded.dtype == pixels.dtype
    # lossy, but channel order right: swapped red/blue would be off by ~60 on average
    assert np.abs(decoded.astype(int) - pixels).mean() < 3


def test_thermal_mono16_png_gives_the_same_temperatures_as_the_raw_image():
    celsius = 20 + _rng_image((120, 160), np.float32, 60.0)
    counts = from_celsius(celsius)
    message = CompressedImageData("mono16; png compressed ", _file(counts, "png"))
    raw = decompress(message, radiometric=True)
    np.testing.assert_array_equal(to_celsius(decode(raw), raw.encoding),
                                  to_celsius(counts, "mono16"))


def test_bare_formats_of_old_publishers_decode_as_the_picture_in_the_file():
    rgb = _rng_image((8, 10, 3))
    grey = _rng_image((8, 10))
    raw = decompress(CompressedImageData("png", _file(rgb, "png")))
    assert decode(raw).tolist() == rgb.tolist()
    raw = decompress(CompressedImageData("png", _file(grey, "png")))
    assert raw.encoding == "mono8" and decode(raw).tolist() == grey.tolist()
    picture = _rng_image((48, 64, 3))
    raw = decompress(CompressedImageData("jpeg", _file(picture, "jpeg", quality=95)))
    assert raw.encoding == "rgb8" and np.abs(decode(raw).astype(int) - picture).mean() < 3


def test_colour_written_without_bgr_is_swapped_back_as_image_transport_does():
    # publishers that converted to rgb8 before OpenCV's writer (which takes BGR) left red and
    # blue swapped in the file and said "compressed rgb8"; the subscriber swaps them back
    rgb = _rng_image((8, 10, 3))
    message = CompressedImageData("rgb8; png compressed rgb8", _file(rgb[:, :, ::-1].copy(), "png"))
    assert decode(decompress(message)).tolist() == rgb.tolist()


def test_compressed_depth_16uc1_is_the_raw_image_bit_for_bit():
    depth = _rng_image((30, 40), np.uint16, 9000)
    depth[0, 0] = 1
    for fmt in ("16UC1; compressedDepth png", "16UC1; compressedDepth", "16UC1"):
        raw = decompress(CompressedImageData(fmt, _depth_payload(_file(depth, "png"))))
        assert raw == encode(depth, "16UC1")


def test_compressed_depth_32fc1_is_dequantised_as_upstream():
    depth = np.array([[0.5, 1.0, 2.5, 9.9, 10.0, np.inf]], np.float32)
    depth_max, z0 = 10.0, 100.0
    quant_a = np.float32(z0 * (z0 + 1.0))
    quant_b = np.float32(1.0 - quant_a / np.float32(depth_max))
    with np.errstate(divide="ignore"):
        inverse = np.where(depth < depth_max, quant_a / depth + quant_b, 0)  # C++ truncates
    quantised = inverse.astype(np.uint16)
    message = CompressedImageData("32FC1; compressedDepth png",
                              _depth_payload(_file(quantised, "png"), quant_a, quant_b))
    decoded = decode(decompress(message))
    assert decoded.dtype == np.float32 and decoded.shape == depth.shape
    np.testing.assert_allclose(decoded[0, :4], depth[0, :4], rtol=0.01)
    assert np.isnan(decoded[0, 4:]).all()  # at or beyond depth_max: no value


@pytest.mark.parametrize("message,reason", [
    (CompressedImageData("mono8; jpeg compressed ", b""), "lossy and has no temperature scale"),
    (CompressedImageData("jpeg", b""), "lossy"),
    (CompressedImageData("32FC1; compressedDepth png", b""), "lossy"),
])
def test_thermal_refuses_lossy_formats_with_what_to_do(message, reason):
    with pytest.raises(ImageDecodeError, match=reason) as err:
        decompress(message, radiometric=True)
    assert "png" in str(err.value) and "thermal_transport" in str(err.value)


def test_thermal_refuses_compressed_depth_holes_from_the_publishers_depth_max():
    counts = from_celsius(np.full((4, 5), 30.0, np.float32))
    counts[1, 1] = 0  # what the publisher's default depth_max (10 m = 10000) does to 303 K
    message = CompressedImageData("16UC1; compressedDepth png",
                                  _depth_payload(_file(counts, "png")))
    with pytest.raises(ImageDecodeError, match=r"depth_max to 65\.535"):
        decompress(message, radiometric=True)
    assert decompress(message).encoding == "16UC1"  # not thermal: 0 is a valid depth


def _png_claiming(width: int, height: int, idat_bytes: int = 100) -> bytes:
    """A grey PNG whose header says width x height, with a zlib stream of zeros that
    decompresses to idat_bytes: what a hostile or corrupt publisher could send."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I",
                                                                        zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(idat_bytes), 9)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("message,reason", [
    (CompressedImageData("rgb8; tiff compressed bgr8", b"x"), "tiff"),
    (CompressedImageData("16UC1; compressedDepth rvl", b"x"), "rvl"),
    (CompressedImageData("rgb8; webp compressed", b"x"), "unsupported compressed format"),
    (CompressedImageData("", b"x"), "unsupported compressed format"),
    (CompressedImageData("bayer_rggb8; png compressed ", b"x"), "cannot come out of png"),
    (CompressedImageData("mono16; jpeg compressed ", b"x"), "cannot come out of jpeg"),
    (CompressedImageData("rgb8; png compressed bgr8", b"not a png at all"), "corrupt png data"),
    (CompressedImageData("mono8; jpeg compressed ", b"\xff\xd8\xff" + bytes(50)),
     "corrupt jpeg data"),
    (CompressedImageData("16UC1; compressedDepth png", bytes(12)), "shorter than its 12-byte"),
    (CompressedImageData("png", _png_claiming(100_000, 100_000)), "exceeds the limit"),
    (CompressedImageData("png", _png_claiming(0, 10)), "corrupt png data|zero-size"),
    (CompressedImageData("png", _png_claiming(64, 64, idat_bytes=10)), "corrupt png data"),
])
def test_bad_compressed_images_are_refused_with_a_reason(message, reason):
    with pytest.raises(ImageDecodeError, match=reason):
        decompress(message)


def test_truncated_and_mislabelled_payloads_are_refused():
    grey = _file(_rng_image((40, 50)), "png")
    with pytest.raises(ImageDecodeError, match="corrupt png data"):
        decompress(CompressedImageData("mono8; png compressed ", grey[: len(grey) // 2]))
    with pytest.raises(ImageDecodeError, match="do not fit the encoding 'rgb8'"):
        decompress(CompressedImageData("rgb8; png compressed bgr8", grey))
    with pytest.raises(ImageDecodeError, match="expected 16-bit grey"):
        decompress(CompressedImageData("16UC1; compressedDepth png", _depth_payload(grey)))
    palette = io.BytesIO()
    Image.new("P", (4, 4)).save(palette, format="PNG")
    with pytest.raises(ImageDecodeError, match="pixel mode 'P'"):
        decompress(CompressedImageData("png", palette.getvalue()))


def test_the_size_limit_is_checked_before_the_pixels_are_decompressed():
    # the header says 5000 x 5000 (25 MB of pixels, under Pillow's own guard): our limit
    # refuses it from the header, before any row is inflated
    bomb = _png_claiming(5000, 5000, idat_bytes=5001 * 5000)
    with pytest.raises(ImageDecodeError, match="5000x5000 exceeds the limit of 1000000"):
        decompress(CompressedImageData("mono8; png compressed ", bomb), max_pixels=1_000_000)


def test_what_the_format_says_about_losses():
    assert parse_compressed_format("mono16; png compressed ").lossless
    assert parse_compressed_format("16UC1; compressedDepth png").lossless
    assert not parse_compressed_format("rgb8; jpeg compressed bgr8").lossless
    assert not parse_compressed_format("32FC1; compressedDepth").lossless
