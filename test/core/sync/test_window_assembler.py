"""Tests of WindowAssembler on synthetic 4-modality rig traffic."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_rig import NS, STREAM_RATES, T0, Message, feed, rig_config, rig_messages

from pm_monitor.core.sync.events import SyncEvent, SyncEventKind
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.sync.window_assembler import (
    ImageSpec,
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)

HOP_NS = NS // 2
SLOP_NS = {"camera": 20_000_000, "thermal": 60_000_000}


def run(messages: list[Message], **config) -> tuple[WindowAssembler, list[AnalysisWindow]]:
    assembler = WindowAssembler(rig_config(**config))
    return assembler, feed(assembler, messages)


def run_with_arrivals(messages, **config):
    """Like run(), also returning the arrival time of the message that released each window."""
    assembler = WindowAssembler(rig_config(**config))
    released = []
    for m in messages:
        for window in feed(assembler, [m]):
            released.append((window, m.arrival_ns))
    return assembler, released


def kinds(events: list[SyncEvent]) -> list[SyncEventKind]:
    return [e.kind for e in events]


def assert_in_grid_order(windows: list[AnalysisWindow]) -> None:
    ends = [w.t_end_ns for w in windows]
    assert all(t % HOP_NS == 0 for t in ends)
    assert all(a < b for a, b in itertools.pairwise(ends))


def assert_frames_within_slop(windows: list[AnalysisWindow]) -> None:
    """The frames are one matched set: within the set slop (the largest of its inputs') of
    each other, the middle of their stamps within it of the window end."""
    slop = max(SLOP_NS.values())
    for w in windows:
        stamps = [frame.stamp_ns for frame in w.frames.values()]
        if stamps:
            assert max(stamps) - min(stamps) <= slop
            assert abs((max(stamps) + min(stamps)) // 2 - w.t_end_ns) <= slop


# ---------------------------------------------------------------------------- normal operation


def test_complete_rig_gives_a_full_window_every_hop():
    assembler, windows = run(rig_messages(10.0))
    assert_in_grid_order(windows)
    ends = [w.t_end_ns for w in windows]
    assert ends[0] == -(-(T0 + NS) // HOP_NS) * HOP_NS  # first window fully after the start
    assert all(b - a == HOP_NS for a, b in itertools.pairwise(ends))
    assert len(windows) >= 17
    for w in windows:
        assert w.missing == () and set(w.present) == {"mic", "accel", "camera", "thermal"}
        for name, (rate, channels) in STREAM_RATES.items():
            stream = w.streams[name]
            assert stream.samples.shape == (rate, channels) and stream.valid.all()
            last_index = (w.t_end_ns - T0) * rate // NS  # sample values are their index
            assert stream.samples[-1, 0] == last_index
    assert_frames_within_slop(windows)
    stats = assembler.stats
    assert stats.windows_emitted == len(windows) and stats.windows_with_missing == 0
    assert 0 < stats.mean_frame_spread_ns("camera") <= SLOP_NS["thermal"]
    assert stats.max_frame_spread_ns() <= 1.5 * SLOP_NS["thermal"]
    # Chunks overtaking each other only cause informational gap / out-of-order events.
    assert [e for e in assembler.drain_events() if e.kind.is_warning] == []


def test_frames_not_picked_by_any_window_are_counted_as_dropped():
    assembler, windows = run(rig_messages(10.0))
    windows += assembler.flush()
    assembler.reset()  # discards the frames still held for future windows
    used = {(name, f.stamp_ns) for w in windows for name, f in w.frames.items()}
    assert assembler.frames_dropped == assembler.stats.frames_received - len(used)
    assert assembler.frames_dropped > 0.9 * assembler.stats.frames_received  # 39 Hz vs 2 Hz


def test_window_is_released_as_soon_as_every_input_passed_its_end():
    _, released = run_with_arrivals(rig_messages(10.0))
    for window, arrival in released:
        # Latest needed: a thermal frame after t (111 ms period, 2 ms jitter, <= 40 ms latency).
        assert arrival - window.t_end_ns < 160_000_000


def test_input_lagging_less_than_its_timeout_is_waited_for():
    messages = rig_messages(10.0)
    lagging = [
        dataclasses.replace(m, arrival_ns=m.arrival_ns + int(1.5 * NS))
        if m.name == "thermal" else m
        for m in messages
    ]
    _, windows = run(sorted(lagging, key=lambda m: m.arrival_ns))
    assert len(windows) >= 17
    assert all(w.missing == () for w in windows)


def test_stream_time_not_wall_clock_drives_everything():
    """Recorded traffic replayed far faster than real time yields the same windows."""
    messages = rig_messages(20.0)
    _, windows = run(messages)
    assert len(windows) == 38 and all(w.missing == () for w in windows)


# ---------------------------------------------------------------------------- missing inputs


def test_silent_image_input_is_left_out_after_its_timeout():
    silent = (3.0, 7.0)
    assembler, released = run_with_arrivals(rig_messages(12.0, silent={"camera": silent}))
    windows = [w for w, _ in released]
    assert_in_grid_order(windows)
    assert all(b.t_end_ns - a.t_end_ns == HOP_NS for a, b in itertools.pairwise(windows))
    for window, arrival in released:
        t = (window.t_end_ns - T0) / NS
        if silent[0] + 0.03 < t < silent[1] - 0.03:
            assert window.missing == ("camera",)
            # Held back no longer than the timeout after the camera's last frame.
            timed_out = T0 + int((silent[0] + 2.1) * NS)
            assert arrival <= max(window.t_end_ns + 160_000_000, timed_out)
        elif t < silent[0] - 0.03 or t > silent[1] + 0.03:
            assert window.missing == ()
    warnings = [e for e in assembler.drain_events() if e.kind.is_warning]
    assert kinds(warnings) == [SyncEventKind.MODALITY_TIMEOUT]
    assert assembler.stats.events_by_kind["modality_resumed"] == 1
    assert assembler.stats.missing_by_input["camera"] == assembler.stats.windows_with_missing


def test_stream_with_little_coverage_is_missing_but_partial_coverage_is_kept():
    silent = (3.0, 7.0)
    assembler, windows = run(rig_messages(12.0, silent={"mic": silent}), min_coverage=0.5)
    by_end = {round((w.t_end_ns - T0) / NS, 3): w for w in windows}
    partial = next(w for t, w in by_end.items() if silent[0] + 0.2 < t < silent[0] + 0.5)
    assert "mic" in partial.streams and 0.5 <= partial.streams["mic"].coverage < 1.0
    assert not partial.streams["mic"].valid[-1]
    gone = next(w for t, w in by_end.items() if silent[0] + 1.0 < t < silent[1])
    assert gone.missing == ("mic",) and "accel" in gone.streams
    assert assembler.stats.windows_with_missing > 0


def test_window_missing_a_required_input_is_skipped():
    assembler, windows = run(
        rig_messages(12.0, silent={"camera": (3.0, 7.0)}), required=("camera",)
    )
    assert all("camera" in w.frames for w in windows)
    assert assembler.stats.windows_skipped_required >= 7
    assert_in_grid_order(windows)


def test_input_that_never_speaks_is_waited_for_only_until_its_timeout():
    messages = [m for m in rig_messages(6.0) if m.name != "thermal"]
    assembler, windows = run(messages)
    assert len(windows) >= 6
    assert all(w.missing == ("thermal",) for w in windows)
    assert SyncEventKind.MODALITY_TIMEOUT in kinds(assembler.drain_events())


# ---------------------------------------------------------------------------- discontinuities


def test_bag_loop_resets_and_starts_over():
    first = rig_messages(6.0)
    offset = first[-1].arrival_ns - first[0].arrival_ns + NS // 10
    replay = [dataclasses.replace(m, arrival_ns=m.arrival_ns + offset) for m in first]
    events: list[SyncEvent] = []
    assembler = WindowAssembler(rig_config(), on_event=events.append)
    windows = feed(assembler, first + replay)
    ends = [w.t_end_ns for w in windows]
    split = next(i for i in range(1, len(ends)) if ends[i] <= ends[i - 1])
    assert_in_grid_order(windows[:split])
    assert_in_grid_order(windows[split:])
    assert windows[split].t_end_ns == windows[0].t_end_ns
    assert kinds(events).count(SyncEventKind.TIME_BACKWARDS) == 1
    assert assembler.stats.resets == 1
    assert assembler.drain_events() == []  # everything went to the callback


def test_forward_leap_flushes_pending_windows_and_skips_the_void():
    before = rig_messages(5.0)
    after = rig_messages(5.0, seed=1, t0=T0 + 100 * NS)
    assembler, windows = run(before + after)
    assert_in_grid_order(windows)
    assert SyncEventKind.TIME_FORWARD in kinds(assembler.drain_events())
    early = [w for w in windows if w.t_end_ns < T0 + 50 * NS]
    late = [w for w in windows if w.t_end_ns > T0 + 50 * NS]
    assert early[-1].t_end_ns >= T0 + int(4.5 * NS)  # flushed up to the end of the data
    assert late[0].t_end_ns == -(-(T0 + 101 * NS) // HOP_NS) * HOP_NS
    assert len(early) + len(late) == len(windows)


def test_flush_emits_the_windows_still_waiting_at_the_end():
    # Thermal stops early; the recording ends before its timeout would release the windows.
    messages = rig_messages(5.0, silent={"thermal": (3.0, 5.0)})
    assembler, windows = run(messages, timeout_s=5.0)
    rest = assembler.flush()
    assert len(rest) >= 2 and rest[0].t_end_ns == windows[-1].t_end_ns + HOP_NS
    assert all(w.missing == ("thermal",) for w in rest[1:])
    assert rest[-1].t_end_ns <= max(m.stamp_ns for m in messages)
    assert_in_grid_order(windows + rest)
    assert assembler.flush() == []


def test_reset_restarts_the_grid():
    assembler, windows = run(rig_messages(3.0))
    assembler.reset()
    assert assembler.next_window_end_ns is None
    again = feed(assembler, rig_messages(3.0))
    assert [w.t_end_ns for w in again] == [w.t_end_ns for w in windows]


# ---------------------------------------------------------------------------- properties


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    silent_name=st.sampled_from(["mic", "accel", "camera", "thermal", None]),
    silent_from=st.floats(1.0, 4.0),
    silent_for=st.floats(0.1, 3.0),
)
def test_windows_are_in_grid_order_and_never_repeated(seed, silent_name, silent_from, silent_for):
    silent = {silent_name: (silent_from, silent_from + silent_for)} if silent_name else None
    assembler, windows = run(rig_messages(6.0, seed=seed, silent=silent))
    windows += assembler.flush()
    assert_in_grid_order(windows)
    assert_frames_within_slop(windows)
    for w in windows:
        assert set(w.present).isdisjoint(w.missing)
        assert set(w.present) | set(w.missing) == {"mic", "accel", "camera", "thermal"}
        for name, stream in w.streams.items():
            assert stream.samples.shape[0] == STREAM_RATES[name][0]


# ---------------------------------------------------------------------------- cost and config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"streams": (), "images": ()},
        {"streams": (StreamSpec("mic", 1),), "images": (ImageSpec("mic"),)},
        {"streams": (StreamSpec("mic", 1),), "required": ("camera",)},
        {"streams": (StreamSpec("mic", 1),), "hop_s": 0.0},
        {"streams": (StreamSpec("mic", 1),), "max_forward_jump_s": 1.0},
    ],
)
def test_invalid_configuration_is_rejected(kwargs):
    with pytest.raises(ValueError):
        WindowAssemblerConfig(**kwargs)


def test_per_input_timeout_overrides_the_default():
    images = (ImageSpec("camera", 0.02, timeout_s=0.5), ImageSpec("thermal", 0.06))
    config = rig_config(images=images)
    messages = rig_messages(8.0, silent={"camera": (3.0, 8.0)})
    assembler = WindowAssembler(config)
    released = []
    for m in messages:
        released += [(w, m.arrival_ns) for w in feed(assembler, [m])]
    first_missing = next(arrival for w, arrival in released if "camera" in w.missing)
    assert first_missing - (T0 + 3 * NS) < int(0.7 * NS)


def test_stream_buffer_counters_are_exposed_read_only():
    assembler, _ = run(rig_messages(3.0))
    buffers = assembler.stream_buffers
    assert set(buffers) == {"mic", "accel"}
    assert buffers["mic"].stats.samples >= 3 * 16_000 - 800
    with pytest.raises(TypeError):
        buffers["mic"] = None  # type: ignore[index]


def test_events_are_queued_without_a_callback():
    assembler = WindowAssembler(rig_config())
    chunk = np.zeros((160, 1), dtype=np.float32)
    assembler.add_chunk("mic", T0, 16_000, 0, chunk)
    assembler.add_chunk("mic", T0, 16_000, 0, chunk)  # the same chunk again
    events = assembler.drain_events()
    assert kinds(events) == [SyncEventKind.DUPLICATE]
    assert assembler.drain_events() == []
    assert assembler.stats.events_by_kind["duplicate"] == 1


# ---------------------------------------------------------------------------- frame sets, drops


def test_frames_of_a_window_come_from_one_matched_set():
    assembler, windows = run(rig_messages(10.0))
    for w in windows:
        camera, thermal = w.frames["camera"].stamp_ns, w.frames["thermal"].stamp_ns
        # a 30 Hz camera beside a 9 Hz thermal camera: the nearest camera frame is <= 17 ms
        # (+ jitter) from the thermal one
        assert abs(camera - thermal) <= 20_000_000
    values = assembler.matcher_diagnostics()
    assert values["frame_sets"] >= len(windows)
    assert 0 < values["set_spread_mean_ms"] <= 20.0
    assert values["camera_dropped_no_partner"] > 0  # 30 Hz vs 9 Hz: most have no partner


def test_latency_budget_bounds_how_long_a_frame_set_is_held():
    assembler, _ = run(rig_messages(10.0), image_latency_budget_s=0.02)
    stats = assembler.image_sets.stats
    assert stats.forced > 0
    # held no longer than the budget plus the gap to the next frame that moves stream time
    assert stats.delay_percentile_ns(1.0) <= 20_000_000 + 40_000_000


def test_an_input_with_everything_dropped_is_reported_starving():
    """A thermal driver whose clock froze at 3 s: every later frame repeats that stamp, so
    each is dropped as a duplicate; windows go on without thermal and it is reported."""
    frozen = T0 + 3 * NS
    messages = [dataclasses.replace(m, stamp_ns=frozen)
                if m.name == "thermal" and m.stamp_ns > frozen else m
                for m in rig_messages(12.0)]
    assembler, windows = run(messages, drop_warn_after_s=3.0)
    late = [w for w in windows if w.t_end_ns > T0 + 6 * NS]
    assert late and all(w.missing == ("thermal",) for w in late)
    starving = assembler.drops.starving(assembler.clock_ns)
    assert set(starving) == {"thermal"} and starving["thermal"] >= 3.0
    reasons = {r.reason for r in assembler.drops.drain() if r.input == "thermal"}
    assert reasons == {"duplicate"}
