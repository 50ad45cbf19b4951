"""thermal_motor loader on the real images (skips where the shared data is not present)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from pm_monitor.datasets import DataNotFoundError, thermal_motor


@pytest.fixture(scope="module")
def frames():
    try:
        return thermal_motor.list_frames()
    except DataNotFoundError as err:
        pytest.skip(str(err))


def test_sessions_match_readme(frames):
    counts = Counter(f.class_name for f in frames)
    assert len(frames) == 369 and list(counts) == list(thermal_motor.CLASSES)
    assert counts["noload_healthy"] == 25 and counts["stator_ACB_30"] == 42
    acb10 = [f for f in frames if f.class_name == "stator_ACB_10"]
    numbers = [f.frame_no for f in acb10]
    assert 105 not in numbers and numbers == sorted(numbers)
    assert [f.frame_index for f in acb10] == list(range(len(acb10)))
    fan = next(f for f in frames if f.class_name == "fan_failure")
    assert (fan.fault, fan.short_pct, fan.frame_no) == ("cooling_fan_failure", None, 68)
    assert fan.record_id == "thermal_motor/fan_failure"


def test_palette_index_is_lossless_against_the_rgb_image(frames):
    frame = next(f for f in frames if f.class_name == "rotor_stuck")
    index = thermal_motor.load_palette_index(frame)
    assert index.shape == (thermal_motor.HEIGHT, thermal_motor.WIDTH)
    assert index.dtype == np.uint8 and int(index.max()) < thermal_motor.PALETTE_SIZE
    palette = thermal_motor.load_palette()
    assert palette.shape == (thermal_motor.PALETTE_SIZE, 3)
    np.testing.assert_array_equal(palette[index], thermal_motor.load_rgb(frame))


def test_frame_blocks_are_contiguous_per_session(frames):
    blocks = thermal_motor.frame_blocks(frames, 3)
    for name in {f.class_name for f in frames}:
        ids = [b for f, b in zip(frames, blocks, strict=True) if f.class_name == name]
        assert ids == sorted(ids) and set(ids) == {0, 1, 2}
    with pytest.raises(ValueError, match="n_blocks"):
        thermal_motor.frame_blocks(frames, 0)
