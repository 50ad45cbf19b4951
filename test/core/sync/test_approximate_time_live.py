"""The live-path additions of ApproximateTimeMatcher: emission bound, rate-scaled queues,
time going backwards, drop reasons, emission delay (approximate_time.py)."""
from __future__ import annotations

import itertools
import random

from pm_monitor.core.sync.approximate_time import (
    DUPLICATE,
    LATE,
    NO_PARTNER,
    OVERFLOW,
    RESET,
    ApproximateTimeMatcher,
)
from pm_monitor.core.sync.events import SyncEventKind

MS = 1_000_000


def stamps_of(sets):
    return [tuple(stamp for stamp, _ in matched) for matched in sets]


def test_held_candidate_is_emitted_once_the_latency_budget_is_spent():
    # Unbounded, A0/B10 waits for A's next message: one between 10 and 20 ms would be tighter.
    plain = ApproximateTimeMatcher(2, age_penalty=0.0)
    bounded = ApproximateTimeMatcher(2, age_penalty=0.0, latency_budget_ns=20 * MS)
    for matcher in (plain, bounded):
        assert matcher.add(1, 10 * MS) == []
        assert matcher.add(0, 0) == []
        assert matcher.add(1, 20 * MS) == []
    assert plain.add(1, 40 * MS) == []
    assert stamps_of(bounded.add(1, 40 * MS)) == [(0, 10 * MS)]
    stats = bounded.stats
    assert stats.forced_emissions == 1
    assert stats.max_emission_delay_ns == 30 * MS


def test_expire_emits_against_an_outside_clock_while_inputs_are_silent():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0, latency_budget_ns=20 * MS)
    matcher.add(1, 10 * MS)
    matcher.add(0, 0)
    assert matcher.expire(25 * MS) == []
    assert stamps_of(matcher.expire(35 * MS)) == [(0, 10 * MS)]
    assert matcher.stats.forced_emissions == 1


def test_forced_sets_never_reuse_a_message_or_cross():
    rng = random.Random(3)
    matcher = ApproximateTimeMatcher(3, queue_size=10, latency_budget_ns=5 * MS)
    arrivals = sorted((k * 33 * MS + rng.randint(-15, 15) * MS, i)
                      for k in range(2000) for i in range(3) if rng.random() > 0.1)
    sets = []
    for stamp, i in arrivals:
        sets += matcher.add(i, stamp)
    used = [set() for _ in range(3)]
    for before, after in itertools.pairwise(sets):
        assert all(b[0] < a[0] for b, a in zip(before, after, strict=True))
    for matched in sets:
        for i, (stamp, _) in enumerate(matched):
            assert stamp not in used[i]
            used[i].add(stamp)
    assert matcher.stats.forced_emissions > 0
    assert matcher.stats.max_emission_delay_ns <= 5 * MS + 66 * MS


def fast_input_arrivals(seed: int = 0) -> list[tuple[int, int]]:
    """Input 0 at 300 Hz, inputs 1-3 at 30 Hz, +-10 ms jitter, 10 % lost, 0-5 ms latency."""
    rng = random.Random(seed)
    period = 1_000_000_000 // 30
    events = []
    for k in range(600):
        for i in range(4):
            for r in range(10 if i == 0 else 1):
                if rng.random() < 0.1:
                    continue
                stamp = k * period + r * period // 10 + rng.randint(-10, 10) * MS
                events.append((stamp + rng.randint(0, 5) * MS, i, stamp))
    events.sort()
    return [(i, stamp) for _, i, stamp in events]


def test_rate_scaled_queues_keep_the_sets_a_fast_input_would_lose_with_queue_10():
    arrivals = fast_input_arrivals()
    counts = {}
    for label, kwargs in (("cpp", {}), ("scaled", {"rate_scaled_queues": True}),
                          ("big", {"queue_size": 100})):
        options = {"queue_size": 10, **kwargs}
        matcher = ApproximateTimeMatcher(4, **options)
        counts[label] = sum(len(matcher.add(i, s)) for i, s in arrivals)
    assert counts["cpp"] < 0.8 * counts["big"]
    assert counts["scaled"] == counts["big"]


def test_rate_scaled_queue_still_bounds_memory_when_an_input_is_silent():
    matcher = ApproximateTimeMatcher(3, queue_size=10, rate_scaled_queues=True)
    for k in range(500):
        matcher.add(0, k * MS)
        matcher.add(1, k * MS)
    assert max(matcher.queue_lengths()) <= 10


def test_time_going_backwards_resets_with_an_event_instead_of_rejecting():
    events, drops = [], []
    matcher = ApproximateTimeMatcher(2, max_reorder_ns=1_000 * MS, on_event=events.append,
                                     on_drop=lambda i, s, r: drops.append((i, s, r)))
    loop = [(i, k * 100 * MS) for k in range(50) for i in (0, 1)]
    first = sum(len(matcher.add(i, s)) for i, s in loop)
    second = sum(len(matcher.add(i, s)) for i, s in loop)  # the bag plays again
    assert second >= first - 1
    stats = matcher.stats
    assert stats.resets == 1
    assert stats.late_rejected == (0, 0)
    assert [e.kind for e in events] == [SyncEventKind.TIME_BACKWARDS]
    assert all(reason == RESET for _, _, reason in drops)
    assert sum(stats.reset_dropped) == len(drops)
    assert stats.received == (100, 100)


def test_without_max_reorder_a_loop_is_rejected_as_late_like_cpp():
    matcher = ApproximateTimeMatcher(2)
    loop = [(i, k * 100 * MS) for k in range(50) for i in (0, 1)]
    for i, s in loop:
        matcher.add(i, s)
    assert sum(len(matcher.add(i, s)) for i, s in loop) == 0
    assert sum(matcher.stats.late_rejected) > 90


def test_every_discarded_message_is_reported_with_its_reason():
    drops = []
    matcher = ApproximateTimeMatcher(2, queue_size=3, age_penalty=0.0,
                                     on_drop=lambda i, s, r: drops.append((i, s, r)))
    matcher.add(0, 10)
    matcher.add(1, 10)  # a set
    matcher.add(0, 10)  # duplicate of a consumed stamp
    matcher.add(0, 5)  # older than a consumed one: late
    for stamp in (20, 30, 40, 50):  # input 1 silent: the fourth overflows
        matcher.add(0, stamp)
    matcher.add(1, 51)  # A50/B51: A30 and A40 had no partner
    reasons = [(i, s, r) for i, s, r in drops]
    assert (0, 10, DUPLICATE) in reasons
    assert (0, 5, LATE) in reasons
    assert (0, 20, OVERFLOW) in reasons
    assert {(0, 30, NO_PARTNER), (0, 40, NO_PARTNER)} <= set(reasons)
    stats = matcher.stats
    assert stats.drops_by_reason(0) == {LATE: 1, DUPLICATE: 1, OVERFLOW: 1, NO_PARTNER: 2,
                                        RESET: 0}


def test_emission_delay_is_the_stream_time_a_set_waited():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0)
    matcher.add(0, 0)
    matcher.add(1, 2 * MS)
    matcher.add(0, 30 * MS)  # proves A0/B2: nothing later can be tighter
    stats = matcher.stats
    assert stats.sets_emitted == 1
    assert stats.mean_emission_delay_ns == 28 * MS
    assert stats.forced_emissions == 0
