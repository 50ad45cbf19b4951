"""Fuzz the synchroniser: random streams of chunks and frames (stamps jumping back and forth,
gaps, duplicates, rate changes, wrong shapes) never crash the window assembler or the monitor
pipeline. Only the documented errors are raised (ValueError from the assembler for a shape or
rate it cannot take, InputRejectedError from the pipeline), and every window is well formed."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pm_monitor.core.alarms import AlarmManager
from pm_monitor.core.imaging.codec import RawImage, encode
from pm_monitor.core.pipeline import InputRejectedError, MonitorPipeline, monitor_assembler
from pm_monitor.core.types import HealthState

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EPOCH_NS = 1_700_000_000 * 10**9
WINDOW_S, HOP_S = 1.0, 0.5
CHANNELS = {"accel": 3, "mic": 1}

# A step of stream time per message: mostly forward by a chunk, sometimes a jump either way.
time_steps = st.one_of(st.just(0.05), st.just(0.05), st.just(0.05), st.just(0.0),
                       st.floats(-30.0, 30.0), st.just(-1e4), st.just(1e4))
# The assembler's contract: a positive rate (else ValueError). NaN, Inf and absurd rates are
# the pipeline's to refuse (MAX_SAMPLE_RATE_HZ, MAX_CHUNK_DURATION_S): fed raw, they make the
# stream buffer raise OverflowError / ZeroDivisionError, try to allocate gigabytes, or (a
# 120-sample chunk at 1e-3 Hz spans 33 h) emit windows for minutes. Reported to the lead.
assembler_rates = st.one_of(st.just(1000.0), st.just(1000.0), st.just(2000.0),
                            st.floats(10.0, 1e5), st.floats(-10.0, 0.0))
any_rates = st.one_of(assembler_rates, st.floats(allow_nan=True, allow_infinity=True))


def _streams(rates):
    chunk_ops = st.tuples(st.just("chunk"), st.sampled_from(["accel", "mic"]), time_steps,
                          rates, st.integers(0, 120),
                          st.sampled_from([None, None, None, 1, 2, 3]),
                          st.one_of(st.just(0), st.integers(-10**6, 10**6), st.just(2**63)))
    frame_ops = st.tuples(st.just("frame"), st.sampled_from(["thermal", "camera"]), time_steps,
                          st.sampled_from([(12, 16), (12, 16), (1, 1), (0, 4), (12, 16, 3)]))
    return st.lists(st.one_of(chunk_ops, chunk_ops, frame_ops), min_size=1, max_size=40)


class StandInCascade:
    def process(self, window):
        return SimpleNamespace(t_end_ns=window.t_end_ns, state=HealthState.NORMAL,
                               anomalous=False, anomaly_score=0.1, anomaly_threshold=1.0,
                               state_probabilities=[1.0, 0.0, 0.0, 0.0], fault_type="none",
                               stage2_ran=False, timings_ms={"total": 1.0}, decided=True,
                               decided_without=())


class Player:
    """Turns ops into messages: a clock per input and a sample counter per stream."""

    def __init__(self) -> None:
        self.t = {name: 0.0 for name in ("accel", "mic", "thermal", "camera")}
        self.index = {"accel": 0, "mic": 0}

    def chunk(self, name, dt, rate, n, channels, index_jump):
        self.t[name] = max(self.t[name] + dt, -1e6)
        channels = CHANNELS[name] if channels is None else channels
        samples = np.random.default_rng(n).normal(0, 1, n * channels).astype(np.float32)
        self.index[name] += index_jump
        first = self.index[name]
        self.index[name] += n
        stamp = EPOCH_NS + int(self.t[name] * 1e9)
        return stamp, rate, channels, first, samples

    def frame(self, name, dt, shape):
        self.t[name] = max(self.t[name] + dt, -1e6)
        return EPOCH_NS + int(self.t[name] * 1e9), np.full(shape, 30.0, np.float32)


def _check_window(window) -> None:
    assert window.t_end_ns % int(HOP_S * 1e9) == 0
    assert set(window.present).isdisjoint(window.missing)
    for stream in window.streams.values():
        n = max(1, round(WINDOW_S * stream.sample_rate))
        assert stream.samples.shape[0] == n == stream.valid.shape[0]
        assert np.isfinite(stream.samples).all()


@FUZZ
@given(_streams(assembler_rates))
def test_window_assembler_takes_any_message_stream(ops):
    assembler = monitor_assembler(WINDOW_S, HOP_S, 0.1, 2.0)
    player = Player()
    for op in ops:
        try:
            if op[0] == "chunk":
                _, name, dt, rate, n, channels, jump = op
                stamp, rate, channels, first, samples = player.chunk(name, dt, rate, n,
                                                                     channels, jump)
                windows = assembler.add_chunk(name, stamp, rate, first,
                                              samples.reshape(-1, channels)
                                              if channels else samples)
            else:
                _, name, dt, shape = op
                stamp, image = player.frame(name, dt, shape)
                windows = assembler.add_frame(name, stamp, image)
        except ValueError as err:  # the assembler's documented refusal (shape, rate)
            assert str(err)
            continue
        for window in windows:
            _check_window(window)
    for window in assembler.flush():
        _check_window(window)


@FUZZ
@given(_streams(any_rates))
def test_monitor_pipeline_takes_any_message_stream(ops):
    pipeline = MonitorPipeline(monitor_assembler(WINDOW_S, HOP_S, 0.1, 2.0), StandInCascade(),
                               AlarmManager("rig_1"), max_future_s=3600.0)
    player = Player()
    accepted = 0
    for op in ops:
        try:
            if op[0] == "chunk":
                _, name, dt, rate, n, channels, jump = op
                stamp, rate, channels, first, samples = player.chunk(name, dt, rate, n,
                                                                     channels, jump)
                names = ["x", "y", "z"][:channels] if name == "accel" else ["mic"] * channels
                outputs = pipeline.on_chunk(name, stamp, rate, names, first, samples,
                                            now_ns=EPOCH_NS)
            else:
                _, name, dt, shape = op
                stamp, image = player.frame(name, dt, shape)
                raw = (encode(image, "32FC1") if len(shape) == 2
                       else RawImage("rgb8", shape[0], shape[1], shape[1] * 3, False,
                                     bytes(int(np.prod(shape)))))
                outputs = pipeline.on_image(name, stamp, "f", raw, now_ns=EPOCH_NS)
        except InputRejectedError as err:
            assert str(err)
            continue
        accepted += 1
        for out in outputs:
            _check_window(out.window)
    stats = pipeline.stats.inputs.values()
    assert sum(s.received for s in stats) == len(ops)
    assert sum(s.received - s.rejected for s in stats) == accepted
