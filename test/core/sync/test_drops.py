"""DropMonitor: counts per input and reason, recent records, starving inputs (drops.py)."""
from __future__ import annotations

import pytest

from pm_monitor.core.sync.drops import DropMonitor, DropRecord

S = 1_000_000_000


def test_drops_are_counted_listed_and_drained():
    drops = DropMonitor(max_recent=2)
    drops.dropped("camera", 1, "no_partner")
    drops.dropped("camera", 2, "late")
    drops.dropped("thermal", 3, "duplicate")
    assert drops.counts[("camera", "no_partner")] == 1 and drops.total("camera") == 2
    assert drops.drain() == [DropRecord("camera", 2, "late"), DropRecord("thermal", 3,
                                                                          "duplicate")]
    assert drops.recent_overflowed == 1  # the first one no longer listed, still counted
    assert drops.drain() == []


def test_an_input_is_starving_once_everything_was_dropped_for_long_enough():
    drops = DropMonitor(starving_after_s=5.0)
    drops.dropped("thermal", 10 * S, "no_partner")
    drops.dropped("thermal", 12 * S, "no_partner")
    assert drops.starving(14 * S) == {}
    assert drops.starving(15 * S) == {"thermal": pytest.approx(5.0)}
    drops.used("thermal")
    assert drops.starving(30 * S) == {}
    drops.dropped("thermal", 31 * S, "late")
    drops.reset_timeline()
    assert drops.starving(60 * S) == {}


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        DropMonitor(starving_after_s=0)
