"""Pure replay scheduling on synthetic sources: exact samples, stamps, loop, merge, pacing."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_monitor.replay.schedule import (
    ChunkPayload,
    ReplayConfig,
    ReplayPacer,
    replay_messages,
)
from pm_monitor.replay.sources import (
    ImageFrameRef,
    ImageSource,
    StreamSegment,
    StreamSource,
    contiguous_segments,
    sample_time_ns,
)

START_NS = 1_700_000_000 * 10**9
RATE = 1000.0


def stream(segments: list[tuple[int, np.ndarray]], name: str = "accel") -> StreamSource:
    return StreamSource(name, "test/accel", RATE, ("x", "y"), "g", tuple(
        StreamSegment(first, len(data), lambda d=data: d, f"seg{i}")
        for i, (first, data) in enumerate(segments)))


def images(times_ns: list[int], period_ns: int = 250_000_000) -> ImageSource:
    return ImageSource("thermal", "test/thermal", "mono8", period_ns, tuple(
        ImageFrameRef(t, lambda t=t: np.full((2, 3), t // period_ns, np.uint8), f"f{t}")
        for t in times_ns))


def ramp(n: int, offset: float = 0.0) -> np.ndarray:
    return (np.arange(2 * n, dtype=np.float32).reshape(n, 2) + offset)


def test_chunks_give_back_every_sample_with_consistent_index_and_stamp():
    a, b = ramp(105), ramp(30, 1000.0)
    src = stream([(0, a), (500, b)])  # b starts 0.5 s in: a 395-sample gap
    msgs = list(replay_messages([src], ReplayConfig(START_NS, chunk_s=0.02)))
    payloads = [m.payload for m in msgs]
    assert all(isinstance(p, ChunkPayload) for p in payloads)
    np.testing.assert_array_equal(np.concatenate([p.samples for p in payloads]),
                                  np.concatenate([a, b]))
    assert [len(p.samples) for p in payloads] == [20] * 5 + [5] + [20, 10]  # no chunk spans a gap
    assert [p.first_sample_index for p in payloads] == [0, 20, 40, 60, 80, 100, 500, 520]
    for m in msgs:
        assert m.stamp_ns == START_NS + sample_time_ns(m.payload.first_sample_index, RATE)
    assert msgs[6].stamp_ns - START_NS == 500_000_000 and msgs[6].record_id == "seg1"


def test_loop_keeps_stamps_and_indices_increasing_with_a_gap_between_passes():
    src = stream([(0, ramp(50))])
    config = ReplayConfig(START_NS, chunk_s=0.02, loop=True, gap_s=0.1, duration_s=0.45)
    msgs = list(replay_messages([src], config))
    assert [m.pass_index for m in msgs] == [0] * 3 + [1] * 3 + [2] * 3  # 0.15 s per pass
    stamps = [m.stamp_ns for m in msgs]
    indices = [m.payload.first_sample_index for m in msgs]
    assert stamps == sorted(set(stamps)) and indices == sorted(set(indices))
    assert indices[3] - indices[2] == 10 + 100  # the last chunk holds 10 samples, then the gap
    np.testing.assert_array_equal(msgs[3].payload.samples, msgs[0].payload.samples)
    assert msgs[3].stamp_ns - msgs[0].stamp_ns == 150_000_000


def test_duration_stops_an_endless_loop_and_sources_merge_in_stamp_order():
    config = ReplayConfig(START_NS, chunk_s=0.1, loop=True, gap_s=0.0, duration_s=2.0)
    msgs = list(replay_messages([stream([(0, ramp(300))]), images([0, 250_000_000])], config))
    stamps = [m.stamp_ns for m in msgs]
    assert stamps == sorted(stamps) and stamps[-1] < START_NS + 2 * 10**9
    assert {m.stream for m in msgs} == {"accel", "thermal"}
    thermal = [m for m in msgs if m.stream == "thermal"]
    # pass period = the longest source (images: last frame + one period = 0.5 s) + gap 0
    assert [m.stamp_ns - START_NS for m in thermal[:4]] == [0, 250_000_000, 500_000_000,
                                                            750_000_000]
    accel = [m for m in msgs if m.stream == "accel"]
    assert [m.payload.first_sample_index for m in accel[:4]] == [0, 100, 200, 500]


def test_contiguous_segments_leave_the_gap_between_recordings():
    segs = contiguous_segments([(10, lambda: ramp(10), "r1"), (5, lambda: ramp(5), "r2")], 7)
    assert [(s.first_index, s.n_samples) for s in segs] == [(0, 10), (17, 5)]


@pytest.mark.parametrize("build, match", [
    (lambda: stream([(0, ramp(10)), (5, ramp(10))]), "overlaps"),
    (lambda: images([0, 0]), "increase"),
    (lambda: ReplayConfig(0), "start_stamp_ns"),
    (lambda: ReplayConfig(START_NS, chunk_s=0.0), "chunk_s"),
    (lambda: list(replay_messages([stream([(0, ramp(5))])] * 2, ReplayConfig(START_NS))),
     "two sources"),
    (lambda: ReplayPacer(iter(()), START_NS, 0.0), "speed_factor"),
])
def test_bad_configuration_is_a_clear_error(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_loaded_data_of_the_wrong_shape_is_refused():
    src = StreamSource("accel", "f", RATE, ("x", "y"), "g",
                       (StreamSegment(0, 10, lambda: ramp(9), "short"),))
    with pytest.raises(ValueError, match="short"):
        list(replay_messages([src], ReplayConfig(START_NS)))


def test_pacer_releases_messages_when_due_at_the_speed_factor():
    msgs = replay_messages([stream([(0, ramp(1000))])], ReplayConfig(START_NS, chunk_s=0.1))
    pacer = ReplayPacer(msgs, START_NS, speed_factor=10.0)  # 1 s of data in 0.1 s
    assert [m.payload.first_sample_index for m in pacer.due(0.0)] == [0]
    assert pacer.due(0.0095) == []  # the next chunk (0.1 s) is due at 0.01 s wall
    assert len(pacer.due(0.05)) == 5 and pacer.lag_s(0.05) == 0.0
    assert len(pacer.due(1.0, max_messages=2)) == 2
    assert pacer.lag_s(1.0) == pytest.approx(1.0 - 0.08)  # chunk 8 is due at 0.08 s
    assert pacer.message_time_ns(0.5) == START_NS + 5 * 10**9
    assert len(pacer.due(1.0)) == 2 and pacer.finished and pacer.released == 10


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(1, 300), min_size=1, max_size=5),
       gaps=st.lists(st.integers(0, 500), min_size=5, max_size=5),
       chunk_s=st.floats(0.001, 0.5), rate=st.sampled_from([1000.0, 12000.0, 44100.0]),
       passes=st.integers(1, 3))
def test_any_layout_gives_back_every_sample_with_increasing_consistent_stamps(
        lengths, gaps, chunk_s, rate, passes):
    datas, segments, index = [], [], 0
    for n, gap in zip(lengths, gaps, strict=False):
        data = ramp(n, offset=float(index))
        datas.append(data)
        segments.append(StreamSegment(index, n, lambda d=data: d, f"s{index}"))
        index += n + gap
    src = StreamSource("accel", "f", rate, ("x", "y"), "g", tuple(segments))
    config = ReplayConfig(START_NS, chunk_s=chunk_s, loop=passes > 1, gap_s=0.01,
                          duration_s=0.0)
    msgs = []
    for m in replay_messages([src], config):
        if m.pass_index == passes:
            break
        msgs.append(m)
    one_pass = np.concatenate(datas)
    np.testing.assert_array_equal(np.concatenate([m.payload.samples for m in msgs]),
                                  np.concatenate([one_pass] * passes))
    stamps = [m.stamp_ns for m in msgs]
    indices = [m.payload.first_sample_index for m in msgs]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert all(b > a for a, b in itertools.pairwise(indices))
    for m in msgs:
        assert m.stamp_ns == START_NS + sample_time_ns(m.payload.first_sample_index, rate)
