"""Decode cost of the monitor's image inputs per transport (prints a table; not a test).

    python -m benchmarks.image_decode [--repeat 200]

For a 640x480 camera frame and a 160x120 radiometric thermal frame (the rig's smooth
pictures with sensor noise, as a camera gives), what `MonitorPipeline.on_image` spends to get
pixels: `decode` of the raw Image, `decompress` + `decode` of the CompressedImage
image_transport's plugins publish with their default settings (JPEG quality 95, PNG level 3,
compressedDepth PNG level 9), and the bytes each sends over the link. Median and p99 of
--repeat runs, one thread; numbers are wall-clock, so run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import io
import os
import struct
import time

import numpy as np
from PIL import Image

from pm_monitor.core.imaging.codec import (
    CompressedImageData,
    RawImage,
    decode,
    decompress,
    encode,
    from_celsius,
)


def _camera_frame() -> np.ndarray:
    y, x = np.mgrid[0:480, 0:640]
    rng = np.random.default_rng(0)
    base = np.stack([(x / 640 * 200), (y / 480 * 180), 90 + 60 * np.sin(x / 40.0)], axis=2)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def _thermal_counts() -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    rng = np.random.default_rng(1)
    celsius = 30 + 25 * np.exp(-((x - 80) ** 2 + (y - 60) ** 2) / 400.0)
    return from_celsius((celsius + rng.normal(0, 0.05, celsius.shape)).astype(np.float32))


def _file(pixels: np.ndarray, codec: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=codec, **options)
    return buf.getvalue()


def _time(work, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    camera, counts = _camera_frame(), _thermal_counts()
    bgr = np.ascontiguousarray(camera[:, :, ::-1])
    cases: list[tuple[str, RawImage | CompressedImageData]] = [
        ("camera 640x480 raw bgr8", encode(bgr, "bgr8")),
        ("camera 640x480 compressed JPEG q95", CompressedImageData(
            "bgr8; jpeg compressed bgr8", _file(camera, "JPEG", quality=95))),
        ("camera 640x480 compressed PNG", CompressedImageData(
            "bgr8; png compressed bgr8", _file(camera, "PNG", compress_level=3))),
        ("thermal 160x120 raw mono16", encode(counts, "mono16")),
        ("thermal 160x120 compressed 16-bit PNG", CompressedImageData(
            "mono16; png compressed ", _file(counts, "PNG", compress_level=3))),
        ("thermal 160x120 compressedDepth PNG", CompressedImageData(
            "16UC1; compressedDepth png",
            struct.pack("<iff", 0, 0.0, 0.0) + _file(counts, "PNG", compress_level=9))),
    ]
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; {args.repeat} runs each\n")
    print("| input | bytes on the wire | decode median (ms) | decode p99 (ms) |")
    print("|---|---|---|---|")
    for name, message in cases:
        thermal = name.startswith("thermal")
        if isinstance(message, RawImage):
            def work(m=message):
                return decode(m)
        else:
            def work(m=message, radiometric=thermal):
                return decode(decompress(m, radiometric=radiometric))
        work()  # first call: Pillow plugin import
        median, p99 = _time(work, args.repeat)
        print(f"| {name} | {len(message.data):,} | {median:.3f} | {p99:.3f} |")


if __name__ == "__main__":
    main()
