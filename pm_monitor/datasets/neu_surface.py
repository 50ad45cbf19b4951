"""NEU-DET steel surface defects: 6 classes x 300 grey 200x200 images, with VOC boxes.

See ``shared/data/neu_surface/README.md``. Facts this loader encodes:
- images are independent (no recording, no time): the image is the split unit, except the
  identical pair in ``KNOWN_DUPLICATES`` which must stay on one side of any split;
- the 30 ``Validation_Images`` are a random hold-out of the source repository, not an official
  split (``source_holdout``);
- a box's class can differ from its image's class (co-occurring defects): use the image class
  for classification and the box class for detection;
- boxes in ``boxes.csv`` are VOC (1-based, inclusive); ``Box`` converts them to 0-based
  half-open pixel ranges, ``pixels[y0:y1, x0:x1]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pm_monitor.datasets.paths import dataset_folder, read_csv_rows

SIZE = 200
CLASSES = ("crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches")
KNOWN_DUPLICATES = (("patches/patches_101.png", "patches/patches_105.png"),)


@dataclass(frozen=True)
class Box:
    """A defect box in 0-based, half-open pixel coordinates."""

    class_name: str
    x0: int
    y0: int
    x1: int
    y1: int
    truncated: bool
    difficult: bool


@dataclass(frozen=True)
class NeuImage:
    file: str  # relative to the data set folder, e.g. "crazing/crazing_1.png"
    class_name: str
    number: int  # n of <class>_<n>.png
    source_holdout: bool  # one of the source repository's 30 "Validation_Images"
    boxes: tuple[Box, ...]

    @property
    def record_id(self) -> str:
        return f"neu_surface/{self.file}"


def _root(root: Path | None) -> Path:
    return dataset_folder("neu_surface", root)


def _read_csv(path: Path) -> list[dict[str, str]]:
    return read_csv_rows(path, "NEU file")


def list_images(root: Path | None = None) -> list[NeuImage]:
    """Every image with its boxes, ordered by class (CLASSES order) then number."""
    folder = _root(root)
    boxes: dict[str, list[Box]] = {}
    for row in _read_csv(folder / "boxes.csv"):
        boxes.setdefault(row["file"], []).append(Box(
            row["class"], int(row["xmin"]) - 1, int(row["ymin"]) - 1, int(row["xmax"]),
            int(row["ymax"]), row["truncated"] == "1", row["difficult"] == "1"))
    images = [NeuImage(file=row["file"], class_name=row["class"],
                       number=int(Path(row["file"]).stem.rsplit("_", 1)[1]),
                       source_holdout=row["original_name"].startswith("Validation_Images/"),
                       boxes=tuple(boxes.get(row["file"], ())))
              for row in _read_csv(folder / "labels.csv")]
    images.sort(key=lambda im: (CLASSES.index(im.class_name), im.number))
    return images


def load_image(image: NeuImage, root: Path | None = None) -> np.ndarray:
    """(200, 200) uint8 grey levels."""
    with Image.open(_root(root) / image.file) as pil:
        if pil.mode != "L":
            raise ValueError(f"{image.file}: expected an 8-bit grey image, got mode {pil.mode}")
        return np.asarray(pil, dtype=np.uint8)
