"""Tests of the ApproximateTime matcher: behaviour, guarantees, and equivalence to the C++ port."""
from __future__ import annotations

import itertools
import random

import pytest
from approximate_time_reference import ReferenceApproximateTime
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_monitor.core.sync.approximate_time import ApproximateTimeMatcher, MatchedSet

# ---------------------------------------------------------------------------- helpers


def feed(matcher: ApproximateTimeMatcher, arrivals: list[tuple[int, int]]) -> list[MatchedSet]:
    """Add (input, stamp) arrivals with the item (input, stamp); return all sets emitted."""
    emitted: list[MatchedSet] = []
    for index, stamp in arrivals:
        emitted += matcher.add(index, stamp, (index, stamp))
    return emitted


def spread(matched: MatchedSet) -> int:
    stamps = [stamp for stamp, _ in matched]
    return max(stamps) - min(stamps)


@st.composite
def in_order_streams(draw, max_inputs=4, max_messages=6, max_stamp=60):
    """Per-input strictly increasing stamps and an arrival order that keeps each input's order
    but interleaves the inputs arbitrarily."""
    n = draw(st.integers(2, max_inputs))
    streams = [
        sorted(draw(st.sets(st.integers(0, max_stamp), max_size=max_messages)))
        for _ in range(n)
    ]
    tokens = [i for i, stream in enumerate(streams) for _ in stream]
    order = draw(st.permutations(tokens))
    cursor = [0] * n
    arrivals = []
    for i in order:
        arrivals.append((i, streams[i][cursor[i]]))
        cursor[i] += 1
    return streams, arrivals


def best_contiguous_spread(streams: list[list[int]], previous: list[int]) -> int | None:
    """Brute force: smallest spread of a set after `previous` (message positions per input)
    that uses the next message on at least one input."""
    ranges = [range(p + 1, len(s)) for p, s in zip(previous, streams, strict=True)]
    best = None
    for combo in itertools.product(*ranges):
        if not any(c == p + 1 for c, p in zip(combo, previous, strict=True)):
            continue
        stamps = [s[c] for s, c in zip(streams, combo, strict=True)]
        if best is None or max(stamps) - min(stamps) < best:
            best = max(stamps) - min(stamps)
    return best


def assert_well_formed(emitted: list[MatchedSet], n_inputs: int) -> None:
    """One message per input, each input's messages strictly increasing (sets never cross,
    no message reused), sets in time order."""
    for matched in emitted:
        assert len(matched) == n_inputs
        assert all(item[0] == i for i, (_, item) in enumerate(matched))
    for before, after in itertools.pairwise(emitted):
        assert all(b[0] < a[0] for b, a in zip(before, after, strict=True))
        assert min(s for s, _ in before) <= min(s for s, _ in after)
        assert max(s for s, _ in before) <= max(s for s, _ in after)


# ---------------------------------------------------------------------------- behaviour


def test_aligned_stamps_emit_a_set_as_soon_as_complete():
    matcher = ApproximateTimeMatcher(3)
    assert matcher.add(0, 100, "a") == []
    assert matcher.add(1, 100, "b") == []
    assert matcher.add(2, 100, "c") == [((100, "a"), (100, "b"), (100, "c"))]
    assert matcher.stats.sets_emitted == 1
    assert matcher.stats.max_spread_ns == 0


def test_waits_for_a_tighter_set_instead_of_taking_the_first_that_fits():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0)
    # (A0, B8) fits any slop >= 8, but A10 arriving later makes (A10, B8) tighter.
    assert feed(matcher, [(0, 0), (1, 8)]) == []
    assert feed(matcher, [(0, 10)]) == [((10, (0, 10)), (8, (1, 8)))]
    assert matcher.stats.dropped == (1, 0)


def test_emits_once_optimality_is_proven_by_a_later_message():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0)
    assert feed(matcher, [(0, 0), (1, 1)]) == []
    # A's next message at 50 cannot beat (A0, B1): emit without waiting for more.
    assert feed(matcher, [(0, 50)]) == [((0, (0, 0)), (1, (1, 1)))]


def test_inter_message_lower_bound_lets_a_set_out_early():
    # Without bounds A might still send a message at 1, so (A0, B1) must wait ...
    plain = ApproximateTimeMatcher(2, age_penalty=0.0)
    assert feed(plain, [(0, 0), (1, 1)]) == []
    # ... with A known to be at least 10 apart, no future A can beat it.
    bounded = ApproximateTimeMatcher(2, age_penalty=0.0, inter_message_lower_bounds_ns=[10, 10])
    assert feed(bounded, [(0, 0), (1, 1)]) == [((0, (0, 0)), (1, (1, 1)))]


def test_max_interval_discards_wide_sets():
    matcher = ApproximateTimeMatcher(2, max_interval_ns=5, age_penalty=0.0)
    emitted = feed(matcher, [(0, 0), (1, 20), (0, 21), (1, 40), (0, 60), (1, 61), (0, 80)])
    assert [spread(s) for s in emitted] == [1, 1]
    assert matcher.stats.dropped[1] == 1  # B40 had no partner within 5


def test_queue_size_bounds_every_input_while_one_is_silent():
    matcher = ApproximateTimeMatcher(3, queue_size=10)
    for k in range(100):
        matcher.add(0, k, None)
        matcher.add(1, k, None)
        assert max(matcher.queue_lengths()) <= 10
    stats = matcher.stats
    assert stats.sets_emitted == 0
    assert stats.overflow_dropped == (90, 90, 0)
    assert stats.received == (100, 100, 0)


def test_duplicate_stamp_is_kept_once_and_counted():
    matcher = ApproximateTimeMatcher(2)
    emitted = feed(matcher, [(0, 5), (0, 5), (1, 5), (1, 5)])
    assert emitted == [((5, (0, 5)), (5, (1, 5)))]
    assert matcher.stats.duplicates == (1, 1)


def test_message_older_than_one_already_emitted_is_rejected_as_late():
    matcher = ApproximateTimeMatcher(2)
    feed(matcher, [(0, 10), (1, 10)])
    assert feed(matcher, [(0, 5), (1, 10)]) == []
    stats = matcher.stats
    assert stats.late_rejected == (1, 0)
    assert stats.duplicates == (0, 1)
    assert matcher.queue_lengths() == (0, 0)


def test_out_of_order_message_is_inserted_and_can_win():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0)
    # B9 arrives after B30: the search restarts and pairs A10 with it.
    emitted = feed(matcher, [(0, 10), (1, 30), (1, 9), (0, 31)])
    assert emitted[0] == ((10, (0, 10)), (9, (1, 9)))
    assert matcher.stats.reordered == (0, 1)


def test_reset_forgets_queues_and_statistics():
    matcher = ApproximateTimeMatcher(2)
    feed(matcher, [(0, 10), (1, 10), (0, 20)])
    matcher.reset()
    assert matcher.queue_lengths() == (0, 0)
    assert matcher.stats.sets_emitted == 0
    # Older stamps are accepted again after a reset (e.g. a bag loop).
    assert feed(matcher, [(0, 1), (1, 1)]) == [((1, (0, 1)), (1, (1, 1)))]


def test_statistics_report_mean_and_max_spread():
    matcher = ApproximateTimeMatcher(2, age_penalty=0.0)
    feed(matcher, [(0, 0), (1, 2), (0, 100), (1, 106), (0, 200), (1, 300)])
    stats = matcher.stats
    assert stats.sets_emitted == 2
    assert stats.mean_spread_ns == pytest.approx(4.0)
    assert stats.max_spread_ns == 6


def test_long_runs_keep_memory_bounded():
    matcher = ApproximateTimeMatcher(2, queue_size=50)
    for k in range(5000):
        matcher.add(0, 2 * k, None)
        matcher.add(1, 2 * k + 1, None)
    assert matcher.stats.sets_emitted >= 4990
    assert all(len(stamps) < 50 + 256 for stamps in matcher._stamps)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_inputs": 1},
        {"n_inputs": 2, "queue_size": 0},
        {"n_inputs": 2, "age_penalty": -0.5},
        {"n_inputs": 2, "max_interval_ns": -1},
        {"n_inputs": 2, "inter_message_lower_bounds_ns": [0]},
    ],
)
def test_invalid_configuration_is_rejected(kwargs):
    with pytest.raises(ValueError):
        ApproximateTimeMatcher(**kwargs)


# ---------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(in_order_streams())
def test_every_set_is_as_tight_as_the_brute_force_optimum(case):
    """The C++ guarantee (age_penalty 0, no overflow, no max interval, in-order stamps): each
    set has the smallest spread among sets after the previous one that are contiguous to it."""
    streams, arrivals = case
    n = len(streams)
    matcher = ApproximateTimeMatcher(n, queue_size=1000, age_penalty=0.0)
    emitted = feed(matcher, arrivals)
    assert_well_formed(emitted, n)
    previous = [-1] * n
    for matched in emitted:
        positions = [streams[i].index(stamp) for i, (stamp, _) in enumerate(matched)]
        assert any(p == q + 1 for p, q in zip(positions, previous, strict=True))
        assert spread(matched) == best_contiguous_spread(streams, previous)
        previous = positions


@settings(max_examples=300, deadline=None)
@given(
    in_order_streams(max_messages=12, max_stamp=80),
    st.integers(1, 6),
    st.sampled_from([None, 0, 3, 10]),
    st.sampled_from([0.0, 0.1, 1.0]),
    st.booleans(),
)
def test_same_output_as_the_literal_cpp_port(case, queue_size, max_interval, age_penalty, bounds):
    """Queue overflows, max interval, age penalty and rate bounds included: the optimised port
    emits exactly what the line-by-line transliteration of the C++ code emits."""
    streams, arrivals = case
    n = len(streams)
    lower_bounds = [0] * n
    if bounds:  # the largest bound each input actually respects
        lower_bounds = [min((b - a for a, b in itertools.pairwise(s)), default=0) for s in streams]
    matcher = ApproximateTimeMatcher(n, queue_size, max_interval, age_penalty, lower_bounds)
    reference = ReferenceApproximateTime(n, queue_size, max_interval, age_penalty, lower_bounds)
    for index, stamp in arrivals:
        assert matcher.add(index, stamp, stamp) == reference.add(index, stamp, stamp)
        assert max(matcher.queue_lengths()) <= queue_size
    if max_interval is not None:
        assert matcher.stats.max_spread_ns <= max_interval


def test_same_output_as_the_literal_cpp_port_on_long_mixed_rate_streams():
    """Long streams with a fast input beside slow ones exercise the run skipping and the
    compaction of consumed messages."""
    rng = random.Random(7)
    for queue_size in (3, 20, 200):
        streams = []
        for period in (1, 7, 23):
            stamps = {k * period + rng.randint(-period // 3, period // 3) for k in range(1500)}
            streams.append(sorted(s for s in stamps if rng.random() > 0.1))
        arrivals = sorted(
            ((stamp + rng.randint(0, 30), i, stamp) for i, s in enumerate(streams) for stamp in s)
        )
        cursor = [0, 0, 0]
        matcher = ApproximateTimeMatcher(3, queue_size, None, 0.1)
        reference = ReferenceApproximateTime(3, queue_size, None, 0.1)
        for _, i, _ in arrivals:  # arrival order by latency, stamps in order per input
            stamp = streams[i][cursor[i]]
            cursor[i] += 1
            assert matcher.add(i, stamp, stamp) == reference.add(i, stamp, stamp)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40)), max_size=60),
    st.integers(1, 8),
    st.sampled_from([0.0, 0.1]),
)
def test_arbitrary_arrivals_yield_well_formed_sets(arrivals, queue_size, age_penalty):
    """Out of order, duplicated and late messages: sets still hold one message per input,
    never reuse or cross messages, and every arrival is accounted for."""
    matcher = ApproximateTimeMatcher(3, queue_size, age_penalty=age_penalty)
    emitted = feed(matcher, arrivals)
    assert_well_formed(emitted, 3)
    stats = matcher.stats
    for i in range(3):
        accepted = stats.received[i] - stats.duplicates[i] - stats.late_rejected[i]
        used = len(emitted)
        assert accepted == used + stats.dropped[i] + matcher.queue_lengths()[i]
