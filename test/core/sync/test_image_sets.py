"""ImageSetMatcher: frame sets from one moment, inputs leaving and rejoining the matching,
drops reported (image_sets.py)."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.sync.image_sets import ImageSetMatcher
from pm_monitor.core.sync.window import FrameSample

MS = 1_000_000
IMAGE = np.zeros((2, 2), dtype=np.float32)


def frame(stamp_ms: int) -> FrameSample:
    return FrameSample(stamp_ms * MS, IMAGE)


def matcher(drops=None) -> ImageSetMatcher:
    return ImageSetMatcher(("camera", "thermal"), queue_size=16, max_interval_ns=60 * MS,
                           latency_budget_ns=100 * MS,
                           on_drop=lambda *d: drops.append(d) if drops is not None else None)


def test_sets_pair_the_nearest_frames_and_report_the_rest():
    drops = []
    sets_ = matcher(drops)
    out = []
    for t in range(0, 400, 33):  # camera at 30 Hz
        out += sets_.add("camera", frame(t))
        if t % 99 == 0:  # thermal at ~10 Hz, 2 ms after a camera frame
            out += sets_.add("thermal", frame(t + 2))
    pairs = [(s.frames["camera"].stamp_ns // MS, s.frames["thermal"].stamp_ns // MS) for s in out]
    assert pairs[:3] == [(0, 2), (99, 101), (198, 200)]
    assert all(s.spread_ns == 2 * MS for s in out)
    assert {reason for _, _, reason in drops} == {"no_partner"}
    assert sets_.stats.sets == len(out)


def test_a_silent_input_leaves_the_matching_and_its_partner_goes_on_alone():
    sets_ = matcher()
    assert sets_.add("camera", frame(0)) == []  # waits for a thermal partner
    out = sets_.set_live(["camera"])  # thermal timed out: the queued camera frame is a set
    assert [list(s.frames) for s in out] == [["camera"]]
    assert [list(s.frames) for s in sets_.add("camera", frame(33))] == [["camera"]]
    assert sets_.add("camera", frame(33)) == []  # a repeated stamp is not a new set
    assert sets_.stats.drops[("camera", "duplicate")] == 1
    sets_.set_live(["camera", "thermal"])
    assert sets_.add("camera", frame(66)) == []  # pairs again


def test_reset_drops_what_was_queued_as_reset():
    drops = []
    sets_ = matcher(drops)
    sets_.add("camera", frame(0))
    sets_.reset()
    assert drops == [("camera", 0, "reset")]
    assert sets_.earliest_pending_ns() is None
