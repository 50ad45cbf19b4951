"""Tests of StreamRingBuffer: placement by sample index, gaps, duplicates, resets, windows."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_monitor.core.sync.events import SyncEventKind
from pm_monitor.core.sync.stream_buffer import StreamRingBuffer

T0 = 1_700_000_000_000_000_000
RATE = 16_000
NS = 1_000_000_000


def stamp_of(index: int, rate: float = RATE, t0: int = T0) -> int:
    """Stamp of sample `index` (ideal time rounded up to the nanosecond)."""
    return t0 - (-index * NS // rate)


def samples(first: int, n: int, channels: int = 1) -> np.ndarray:
    """Samples whose value is their own index (channel c holds index + c * 0.25)."""
    index = np.arange(first, first + n, dtype=np.float32)
    return np.stack([index + 0.25 * c for c in range(channels)], axis=1)


def add(buffer: StreamRingBuffer, first: int, n: int, rate: float = RATE, t0: int = T0):
    block = samples(first, n, buffer.n_channels)
    return buffer.add_chunk(stamp_of(first, rate, t0), rate, first, block)


def kinds(events) -> list[SyncEventKind]:
    return [event.kind for event in events]


def window_indices(buffer: StreamRingBuffer, last_index: int, n: int):
    """Window of n samples ending exactly at sample last_index."""
    return buffer.window(stamp_of(last_index), n / RATE)


# ---------------------------------------------------------------------------- windows


def test_window_holds_the_samples_ending_at_t():
    buffer = StreamRingBuffer("accel", 3, capacity_s=2.0)
    for first in range(0, 16_000, 400):
        assert add(buffer, first, 400) == []
    window = window_indices(buffer, 9_999, 1_600)
    assert window is not None
    np.testing.assert_array_equal(window.samples, samples(8_400, 1_600, 3))
    assert window.valid.all() and window.coverage == 1.0
    assert window.t_start_ns == stamp_of(8_400)
    assert window.sample_rate == RATE
    assert window.channel_names == ("accel_0", "accel_1", "accel_2")


def test_window_length_is_fixed_by_duration_and_rate():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 32_000)
    # Any end time, on or between sample stamps: always round(W * rate) samples.
    for t_end in (stamp_of(20_000), stamp_of(20_000) + 1, stamp_of(20_001) - 1):
        window = buffer.window(t_end, 1.0)
        assert window is not None and window.samples.shape == (16_000, 1)
        assert window.samples[-1, 0] == 20_000


def test_window_partly_outside_the_data_is_marked_invalid():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 1_000, 1_000)
    window = window_indices(buffer, 2_499, 1_000)  # covers 1500..2499, data ends at 1999
    assert window is not None
    assert window.valid[:500].all() and not window.valid[500:].any()
    assert (window.samples[500:] == 0).all()
    assert window.coverage == pytest.approx(0.5)


def test_window_without_any_data_is_none():
    buffer = StreamRingBuffer("mic", 1, capacity_s=1.0)
    assert buffer.window(T0, 1.0) is None
    add(buffer, 0, 1_000)
    assert window_indices(buffer, 10_000, 100) is None  # after the data
    add(buffer, 100_000, 1_000)
    assert window_indices(buffer, 999, 100) is None  # overwritten by the ring


def test_latest_time_is_the_stamp_of_the_newest_sample():
    buffer = StreamRingBuffer("mic", 1)
    assert buffer.latest_time_ns is None
    add(buffer, 0, 320)
    assert buffer.latest_time_ns == stamp_of(319)


def test_ring_wraps_and_keeps_only_the_capacity():
    buffer = StreamRingBuffer("mic", 1, capacity_s=0.1)  # 1600 samples
    for first in range(0, 10_000, 300):
        add(buffer, first, 300)
    window = window_indices(buffer, 10_199, 1_600)
    np.testing.assert_array_equal(window.samples[:, 0], np.arange(8_600, 10_200))
    assert window.valid.all()
    older = window_indices(buffer, 10_199, 2_000)
    assert older.coverage == pytest.approx(0.8)


def test_chunk_larger_than_capacity_keeps_its_newest_samples():
    buffer = StreamRingBuffer("mic", 1, capacity_s=0.1)
    add(buffer, 0, 5_000)
    window = window_indices(buffer, 4_999, 1_600)
    np.testing.assert_array_equal(window.samples[:, 0], np.arange(3_400, 5_000))
    assert buffer.stats.samples == 1_600


def test_one_dimensional_chunk_accepted_for_one_channel_and_wrong_shape_rejected():
    buffer = StreamRingBuffer("mic", 1)
    buffer.add_chunk(T0, RATE, 0, np.zeros(10))
    assert buffer.stats.samples == 10
    with pytest.raises(ValueError):
        buffer.add_chunk(T0, RATE, 10, np.zeros((10, 2)))
    with pytest.raises(ValueError):
        buffer.add_chunk(T0, 0.0, 10, np.zeros(10))


def test_sample_counter_beyond_the_int64_ring_is_refused_and_the_stream_goes_on():
    # found by the fuzz test: a counter of 2**63 (a corrupt uint64 field) overflowed the ring
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 100)
    for bad in (2**63, 2**62, -1):
        with pytest.raises(ValueError, match="first_sample_index"):
            buffer.add_chunk(T0, RATE, bad, np.zeros(10))
    add(buffer, 100, 100)
    assert buffer.stats.samples == 200


# ---------------------------------------------------------------------------- irregular input


def test_index_jump_leaves_an_invalid_gap():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 1_000)
    events = add(buffer, 1_500, 1_000)
    assert kinds(events) == [SyncEventKind.GAP]
    assert not events[0].kind.is_warning
    window = window_indices(buffer, 2_499, 2_500)
    assert window.valid[:1_000].all() and window.valid[1_500:].all()
    assert not window.valid[1_000:1_500].any()
    assert (window.samples[1_000:1_500] == 0).all()
    assert (buffer.stats.gaps, buffer.stats.gap_samples) == (1, 500)


def test_gap_in_a_reused_ring_slot_does_not_show_stale_samples():
    buffer = StreamRingBuffer("mic", 1, capacity_s=0.1)  # 1600 slots
    add(buffer, 0, 1_600)
    add(buffer, 2_000, 400)  # the slots of the gap 1600..1999 still hold samples 0..399
    window = window_indices(buffer, 2_399, 1_600)  # samples 800..2399
    np.testing.assert_array_equal(window.samples[:800, 0], np.arange(800, 1_600))
    assert not window.valid[800:1_200].any()
    assert (window.samples[800:1_200] == 0).all()
    np.testing.assert_array_equal(window.samples[1_200:, 0], np.arange(2_000, 2_400))


def test_late_chunk_fills_its_gap():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 500)
    add(buffer, 1_000, 500)
    events = add(buffer, 500, 500)
    assert kinds(events) == [SyncEventKind.OUT_OF_ORDER]
    window = window_indices(buffer, 1_499, 1_500)
    assert window.valid.all()
    np.testing.assert_array_equal(window.samples[:, 0], np.arange(1_500))
    assert buffer.stats.out_of_order == 1


def test_repeated_chunk_is_dropped_and_counted():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 500)
    chunk = np.full((500, 1), -1.0, dtype=np.float32)  # different values must not overwrite
    events = buffer.add_chunk(stamp_of(0), RATE, 0, chunk)
    assert kinds(events) == [SyncEventKind.DUPLICATE]
    assert events[0].kind.is_warning
    assert window_indices(buffer, 499, 500).samples[0, 0] == 0
    assert (buffer.stats.duplicates, buffer.stats.samples) == (1, 500)


def test_overlapping_resend_only_adds_the_new_samples():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 500)
    assert add(buffer, 250, 500) == []
    window = window_indices(buffer, 749, 750)
    np.testing.assert_array_equal(window.samples[:, 0], np.arange(750))
    assert buffer.stats.samples == 750


def test_index_far_back_with_consistent_stamp_is_a_restart():
    """A bag loop replays the same (index, stamp) pairs: start over, do not 'fill'."""
    buffer = StreamRingBuffer("mic", 1, capacity_s=5.0, max_reorder_s=1.0)
    for first in range(0, 48_000, 800):
        add(buffer, first, 800)
    events = add(buffer, 0, 800)
    assert kinds(events) == [SyncEventKind.SENSOR_RESET]
    assert buffer.latest_time_ns == stamp_of(799)
    assert window_indices(buffer, 2_000, 100) is None  # the old data is gone
    assert buffer.stats.resets == 1


def test_counter_restart_with_advancing_stamps_resets_the_stream():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 5_000, 16_000)
    new_stamp = stamp_of(21_000)
    events = buffer.add_chunk(new_stamp, RATE, 0, samples(0, 800))
    assert kinds(events) == [SyncEventKind.SENSOR_RESET]
    assert buffer.latest_time_ns == new_stamp + stamp_of(799) - T0


def test_stamp_going_backwards_resets_the_stream():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 16_000)
    events = buffer.add_chunk(stamp_of(8_000), RATE, 16_000, samples(16_000, 800))
    assert kinds(events) == [SyncEventKind.SENSOR_RESET]
    assert buffer.latest_time_ns == stamp_of(8_799)


def test_sample_rate_change_resets_the_stream():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 1_600)
    events = add(buffer, 1_600, 4_800, rate=48_000)
    assert kinds(events) == [SyncEventKind.RATE_CHANGE]
    assert buffer.sample_rate == 48_000
    window = buffer.window(buffer.latest_time_ns, 0.1)
    assert window.sample_rate == 48_000 and window.valid.all()
    np.testing.assert_array_equal(window.samples[:, 0], np.arange(1_600, 6_400))


def test_stamp_jump_reanchors_and_keeps_the_older_samples_in_place():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 8_000)
    # The next chunk continues the index but is stamped 300 ms later (a 4800-sample hole).
    events = buffer.add_chunk(stamp_of(12_800), RATE, 8_000, samples(8_000, 8_000))
    assert kinds(events) == [SyncEventKind.STAMP_JUMP, SyncEventKind.GAP]
    assert buffer.stats.reanchors == 1
    window = buffer.window(stamp_of(20_799), 1.3)  # 20800 samples worth of time
    assert window.valid[:8_000].all() and not window.valid[8_000:12_800].any()
    assert window.valid[12_800:].all()
    np.testing.assert_array_equal(window.samples[:8_000, 0], np.arange(8_000))
    np.testing.assert_array_equal(window.samples[12_800:, 0], np.arange(8_000, 16_000))


def test_stamp_jitter_within_tolerance_is_absorbed():
    buffer = StreamRingBuffer("mic", 1, stamp_tolerance_s=0.01)
    rng = np.random.default_rng(1)
    for first in range(0, 160_000, 320):
        jitter = int(rng.integers(-5_000_000, 5_000_000))
        events = buffer.add_chunk(stamp_of(first) + jitter, RATE, first, samples(first, 320))
        assert events == []
    window = buffer.window(stamp_of(159_000), 1.0)
    assert window.valid.all()
    assert abs(int(window.samples[-1, 0]) - 159_000) <= 40  # anchor wander under 2.5 ms


def test_slow_clock_drift_is_followed_without_warnings():
    buffer = StreamRingBuffer("mic", 1, capacity_s=2.0, stamp_tolerance_s=0.005)
    drift_ppm = 100  # 100 s of data drift 10 ms apart: twice the tolerance
    for first in range(0, 100 * RATE, 800):
        stamp = stamp_of(first) + first * NS // RATE * drift_ppm // 1_000_000
        assert buffer.add_chunk(stamp, RATE, first, samples(first, 800)) == []
    assert buffer.stats.reanchors == 0 and buffer.stats.resets == 0


def test_reset_forgets_data_but_keeps_counters():
    buffer = StreamRingBuffer("mic", 1)
    add(buffer, 0, 100)
    buffer.reset()
    assert buffer.latest_time_ns is None and buffer.window(stamp_of(99), 0.01) is None
    assert buffer.stats.chunks == 1


# ---------------------------------------------------------------------------- properties


@st.composite
def chunked_delivery(draw):
    """Samples 0..total cut into random chunks, delivered in an order where each chunk is at
    most a few chunks late, some chunks sent twice."""
    total = draw(st.integers(1, 3_000))
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=30))) if total > 1 else []
    bounds = list(zip([0, *cuts], [*cuts, total], strict=True))
    keys = [i + draw(st.floats(0, 4)) for i in range(len(bounds))]
    order = [bounds[i] for i in sorted(range(len(bounds)), key=keys.__getitem__)]
    repeats = draw(st.lists(st.sampled_from(bounds), max_size=3))
    channels = draw(st.integers(1, 3))
    return total, order + repeats, channels


@settings(max_examples=150, deadline=None)
@given(chunked_delivery())
def test_any_chunking_and_order_returns_exactly_the_samples_written(case):
    total, deliveries, channels = case
    buffer = StreamRingBuffer("s", channels, capacity_s=1.0)
    for first, end in deliveries:
        events = add(buffer, first, end - first)
        assert SyncEventKind.SENSOR_RESET not in kinds(events)
    window = window_indices(buffer, total - 1, total)
    assert window.valid.all()
    np.testing.assert_array_equal(window.samples, samples(0, total, channels))
    assert buffer.stats.samples == total
    assert buffer.stats.gaps <= len(deliveries)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4_000), st.integers(1, 400)), min_size=1, max_size=15)
)
def test_valid_samples_always_hold_the_written_values(chunks):
    """Whatever arrives (gaps, overlaps, stale chunks), a sample marked valid holds exactly the
    value written for its index, and invalid ones are zero."""
    buffer = StreamRingBuffer("s", 1, capacity_s=0.2, max_reorder_s=0.1)  # 3200 samples
    for first, n in chunks:
        add(buffer, first, n)
    newest = buffer.latest_time_ns
    last = buffer.index_at_or_before(newest)
    window = window_indices(buffer, last, 3_200)
    if window is None:
        return
    indices = np.arange(last - 3_199, last + 1, dtype=np.float32)
    np.testing.assert_array_equal(window.samples[window.valid, 0], indices[window.valid])
    assert (window.samples[~window.valid] == 0).all()


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf"), 1e12])
def test_impossible_sample_rates_are_a_value_error(rate):
    """Fed directly (not through the pipeline), NaN, infinite or absurd rates are refused
    with a ValueError instead of an OverflowError or a multi-gigabyte allocation."""
    buffer = StreamRingBuffer("accel", 1, capacity_s=2.0)
    with pytest.raises(ValueError, match="sample rate"):
        buffer.add_chunk(10**9, rate, 0, np.zeros((4, 1), np.float32))
