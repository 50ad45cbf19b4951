"""NEU-DET loader on the real images (skips where the shared data is not present)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pm_monitor.datasets import DataNotFoundError, neu_surface


@pytest.fixture(scope="module")
def images():
    try:
        return neu_surface.list_images()
    except DataNotFoundError as err:
        pytest.skip(str(err))


def test_classes_holdout_and_boxes_match_readme(images):
    assert Counter(im.class_name for im in images) == dict.fromkeys(neu_surface.CLASSES, 300)
    assert sum(im.source_holdout for im in images) == 30
    boxes = [b for im in images for b in im.boxes]
    assert len(boxes) == 4189 and all(im.boxes for im in images)
    # VOC 1-based inclusive -> 0-based half-open, inside the 200x200 image
    assert all(0 <= b.x0 < b.x1 <= neu_surface.SIZE and 0 <= b.y0 < b.y1 <= neu_surface.SIZE
               for b in boxes)
    first = images[0]
    assert (first.file, first.number) == ("crazing/crazing_1.png", 1)
    assert (first.boxes[0].x0, first.boxes[0].x1) == (1, 193)  # xmin 2, xmax 193 in the csv
    assert Counter(b.class_name for b in boxes)["inclusion"] == 1011  # box classes differ


def test_images_load_as_grey_and_known_duplicate_is_identical(images):
    by_file = {im.file: im for im in images}
    a, b = (neu_surface.load_image(by_file[f]) for f in neu_surface.KNOWN_DUPLICATES[0])
    assert a.shape == (neu_surface.SIZE, neu_surface.SIZE) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
