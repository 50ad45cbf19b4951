"""Tests of FrameBuffer: nearest-frame choice, admission of late frames, discard accounting."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.sync.frame_buffer import FrameAdmission, FrameBuffer
from pm_monitor.core.sync.window import FrameSample

IMAGE = np.zeros((2, 2), dtype=np.float32)


def frame(stamp: int) -> FrameSample:
    return FrameSample(stamp, IMAGE, f"f{stamp}")


def buffer_with(*stamps: int) -> FrameBuffer:
    frames = FrameBuffer("camera")
    for stamp in stamps:
        frames.add(frame(stamp))
    return frames


def test_nearest_frame_within_slop_is_chosen():
    frames = buffer_with(100, 133, 166)
    assert frames.nearest(140, 20).stamp_ns == 133
    assert frames.nearest(160, 20).stamp_ns == 166
    assert frames.nearest(250, 20) is None  # nothing within slop
    assert frames.nearest(50, 60).stamp_ns == 100


def test_tie_goes_to_the_earlier_frame():
    assert buffer_with(100, 200).nearest(150, 60).stamp_ns == 100


def test_reordered_frame_is_inserted_in_stamp_order():
    frames = FrameBuffer("camera")
    assert frames.add(frame(200)) is FrameAdmission.STORED
    assert frames.add(frame(100)) is FrameAdmission.REORDERED
    assert frames.newest_stamp_ns == 200
    assert frames.nearest(110, 20).stamp_ns == 100


def test_duplicate_stamp_is_rejected():
    frames = buffer_with(100)
    assert frames.add(frame(100)) is FrameAdmission.DUPLICATE
    assert len(frames) == 1


def test_discarded_frames_count_only_when_never_used():
    frames = buffer_with(100, 200, 300)
    frames.nearest(200, 10)
    frames.discard_before(250)
    assert len(frames) == 1
    assert (frames.dropped_unused, frames.used) == (1, 1)


def test_frames_behind_the_discard_horizon_are_unneeded_or_late():
    frames = buffer_with(100, 200)
    frames.discard_before(500)
    # In order but already behind every pending window: not stored, counted as unused.
    assert frames.add(frame(300)) is FrameAdmission.UNNEEDED
    assert frames.newest_stamp_ns == 300
    # Out of order and behind the horizon: too late.
    assert frames.add(frame(250)) is FrameAdmission.LATE
    assert frames.dropped_unused == 3
    assert frames.add(frame(600)) is FrameAdmission.STORED


def test_full_buffer_pushes_out_its_oldest_frame():
    frames = FrameBuffer("camera", max_frames=2)
    frames.add(frame(1))
    frames.add(frame(2))
    assert frames.add(frame(3)) is FrameAdmission.OVERFLOW
    assert len(frames) == 2 and frames.dropped_unused == 1
    assert frames.nearest(1, 0) is None


def test_drop_all_counts_unused_frames_and_accepts_older_stamps_again():
    frames = buffer_with(100, 200)
    frames.discard_before(150)
    frames.drop_all()
    assert len(frames) == 0 and frames.dropped_unused == 2
    assert frames.add(frame(50)) is FrameAdmission.STORED


def test_invalid_capacity_is_rejected():
    with pytest.raises(ValueError):
        FrameBuffer("camera", max_frames=0)
