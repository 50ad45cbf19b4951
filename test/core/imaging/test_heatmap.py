import numpy as np
import pytest

from pm_monitor.core.imaging.heatmap import overlay


def test_overlay_colours_the_hot_region_and_marks_hotspot():
    frame = np.full((40, 60), 25.0, np.float32)
    frame[10:20, 30:40] = 60.0
    heat = np.zeros((40, 60), np.float32)
    heat[10:20, 30:40] = 1.0
    rgb = overlay(frame, heat, hotspot_xy=(35, 15), region=(30, 10, 10, 10))
    assert rgb.shape == (40, 60, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[15, 35]) == (0, 255, 0)          # hotspot cross
    assert tuple(rgb[10, 32]) == (255, 255, 255)      # region box
    # jet at 1.0 is dark red: the hot region is redder than the cold background
    assert rgb[12, 33, 0] > rgb[30, 5, 0]


def test_overlay_refuses_mismatched_heatmap():
    with pytest.raises(ValueError, match="does not match"):
        overlay(np.zeros((4, 4), np.float32), np.zeros((3, 4), np.float32))
