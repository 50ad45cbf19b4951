"""Thermal images of an induction motor under 11 conditions (Najafi et al.), 320x240 palette PNGs.

See ``shared/data/thermal_motor/README.md``. Facts this loader encodes:
- each class is ONE recording session of consecutive, near-identical frames: the session is the
  recording, and a split must use contiguous frame blocks (``frame_blocks``), never random frames;
- pixels are indices 0..241 into one shared iron palette sorted by luma: a monotonic *relative*
  intensity. There is no radiometric data and no colour bar: **no mapping to deg C exists**;
- frames carry no time stamps, only frame numbers (some missing, e.g. 105 in stator_ACB_10);
- ``stator_A_30/152.png`` and ``153.png`` are identical (keep them in one block).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pm_monitor.datasets.paths import dataset_folder, read_csv_rows

WIDTH, HEIGHT = 320, 240
PALETTE_SIZE = 242
# The README's order: healthy, stator shorts by growing severity, fan failure, stuck rotor.
CLASSES = ("noload_healthy", "stator_A_10", "stator_AC_10", "stator_ACB_10", "stator_A_30",
           "stator_AC_30", "stator_ACB_30", "stator_A_50", "stator_AB_50", "fan_failure",
           "rotor_stuck")


@dataclass(frozen=True)
class ThermalFrame:
    """One image of a session; ``frame_index`` is its position in the session (0-based)."""

    file: str  # relative to the data set folder, e.g. "fan_failure/f068.png"
    class_name: str  # = the recording session
    fault: str  # healthy, stator_short, cooling_fan_failure, rotor_locked ...
    phases_shorted: str  # "A+C" for stator shorts, "" otherwise
    short_pct: int | None  # share of turns shorted per phase, stator shorts only
    frame_no: int  # original frame number (gaps where a frame is missing)
    frame_index: int

    @property
    def record_id(self) -> str:
        return f"thermal_motor/{self.class_name}"


def _root(root: Path | None) -> Path:
    return dataset_folder("thermal_motor", root)


def list_frames(root: Path | None = None) -> list[ThermalFrame]:
    """Every frame, class by class in ``CLASSES`` order, each class by frame number."""
    rows = read_csv_rows(_root(root) / "labels.csv", "thermal_motor labels")
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row["class"], []).append(row)
    order = {name: i for i, name in enumerate(CLASSES)}
    frames = []
    for class_name in sorted(by_class, key=lambda name: order.get(name, len(order))):
        class_rows = by_class[class_name]
        class_rows.sort(key=lambda r: int(r["frame_no"]))
        for index, row in enumerate(class_rows):
            frames.append(ThermalFrame(
                file=row["file"], class_name=class_name, fault=row["fault"],
                phases_shorted=row["phases_shorted"],
                short_pct=int(row["short_pct"]) if row["short_pct"] else None,
                frame_no=int(row["frame_no"]), frame_index=index))
    return frames


def class_names(root: Path | None = None) -> list[str]:
    return list(dict.fromkeys(f.class_name for f in list_frames(root)))


def load_palette_index(frame: ThermalFrame, root: Path | None = None) -> np.ndarray:
    """(240, 320) uint8 palette index 0..241: relative intensity, NOT a temperature."""
    with Image.open(_root(root) / frame.file) as image:
        if image.mode != "P":
            raise ValueError(f"{frame.file}: expected a palette image, got mode {image.mode}")
        return np.asarray(image, dtype=np.uint8)


def load_rgb(frame: ThermalFrame, root: Path | None = None) -> np.ndarray:
    """(240, 320, 3) uint8: the original false-colour BMP pixels (lossless)."""
    with Image.open(_root(root) / frame.file) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def load_palette(root: Path | None = None) -> np.ndarray:
    """(242, 3) uint8 RGB of each palette index (``palette.csv``)."""
    rows = read_csv_rows(_root(root) / "palette.csv", "thermal_motor palette")
    return np.array([[int(r["r"]), int(r["g"]), int(r["b"])] for r in rows], dtype=np.uint8)


def frame_blocks(frames: list[ThermalFrame], n_blocks: int) -> list[int]:
    """Block id 0..n_blocks-1 of each frame: contiguous runs of its session, for leak-free
    splits (neighbouring frames are near-identical, so never split frames at random)."""
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    sizes: dict[str, int] = {}  # frames per session (from the indices: subsets work too)
    for f in frames:
        sizes[f.class_name] = max(sizes.get(f.class_name, 0), f.frame_index + 1)
    return [min(n_blocks - 1, f.frame_index * n_blocks // sizes[f.class_name]) for f in frames]
