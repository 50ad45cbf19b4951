"""Bresenham rasterisation: known lines, the min/max rows (off-by-one fix), vectorised form."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training.rul_network.raster import (
    amplitude_levels,
    bresenham_line,
    minmax_normalise,
    rasterise,
)


def test_bresenham_known_lines():
    assert bresenham_line(0, 0, 4, 0) == [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)]
    assert bresenham_line(2, 1, 2, 4) == [(2, 1), (2, 2), (2, 3), (2, 4)]
    assert bresenham_line(0, 0, 3, 3) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    # the textbook example: (0, 0) -> (5, 2)
    assert bresenham_line(0, 0, 5, 2) == [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2)]
    # reversed direction visits the same pixels of a symmetric line
    assert bresenham_line(3, 3, 0, 0) == [(3, 3), (2, 2), (1, 1), (0, 0)]


def test_bresenham_steep_unit_step_is_connected_and_split_between_columns():
    points = bresenham_line(0, 0, 1, 6)
    ys = [y for _, y in points]
    assert ys == list(range(7))  # connected: every level once
    assert {x for x, _ in points} == {0, 1}


def test_minimum_maps_to_bottom_row_and_maximum_to_top_row():
    window = np.array([-3.0, 0.0, 5.0, 1.0])
    levels = amplitude_levels(minmax_normalise(window), 64)
    assert levels[0] == 0 and levels[2] == 63  # naive round(v*64)-1 gives -1 at the minimum
    image = rasterise(window, 64)
    assert image.shape == (64, 4)
    assert image[63, 0] == 1  # minimum: bottom row, first column
    assert image[0, 2] == 1  # maximum: top row
    assert image[0, 0] == 0  # the minimum did not wrap to the top row


def test_vectorised_raster_equals_reference_lines():
    rng = np.random.default_rng(1)
    for _ in range(50):
        window = rng.normal(size=int(rng.integers(2, 60)))
        levels = amplitude_levels(minmax_normalise(window), 64)
        expected = np.zeros((64, window.size), np.uint8)
        for x in range(window.size - 1):
            for px, py in bresenham_line(x, int(levels[x]), x + 1, int(levels[x + 1])):
                expected[63 - py, px] = 1
        np.testing.assert_array_equal(rasterise(window, 64), expected)


def test_width_merges_columns_with_or():
    window = np.random.default_rng(2).normal(size=2560)
    full = rasterise(window, 64)
    merged = rasterise(window, 64, width=64)
    np.testing.assert_array_equal(merged, full.reshape(64, 64, 40).max(axis=2))


def test_constant_window_is_a_flat_line_and_bad_input_is_refused():
    image = rasterise(np.ones(10), 64)
    assert image.sum() == 10 and image[31].all()
    with pytest.raises(ValueError, match="NaN"):
        rasterise(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="divide"):
        rasterise(np.zeros(10), width=3)
