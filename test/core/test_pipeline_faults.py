"""Bad input and faults through the monitor pipeline (pure core, no ROS, stand-in cascade).

Each bad message is slipped into a clean feed; the bar is the clean run: it is refused with
a reason (or, when it is legitimate like a big-endian image, decoded correctly), it is
counted, and the windows the good data makes are exactly the clean run's windows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from pm_monitor.core.alarms import AlarmManager
from pm_monitor.core.imaging.codec import RawImage, encode, from_celsius
from pm_monitor.core.pipeline import (
    MAX_SAMPLE_RATE_HZ,
    InputRejectedError,
    MonitorPipeline,
    assembler_diagnostics,
    monitor_assembler,
)
from pm_monitor.core.types import HealthState

EPOCH_NS = 1_700_000_000 * 10**9
ACCEL_RATE, MIC_RATE, CHUNK = 2000.0, 1000.0, 0.05
NAMES = {"accel": ["x", "y", "z"], "mic": ["mic"]}


class StandInCascade:
    """Records each window; what the real cascade returns, minus the models."""

    def __init__(self, fail_at: set[int] | None = None) -> None:
        self.windows = []
        self.fail_at = fail_at or set()

    def process(self, window):
        self.windows.append(window)
        if len(self.windows) in self.fail_at:
            raise RuntimeError("model blew up")
        return SimpleNamespace(t_end_ns=window.t_end_ns, state=HealthState.NORMAL,
                               anomalous=False, anomaly_score=0.1, anomaly_threshold=1.0,
                               state_probabilities=[1.0, 0.0, 0.0, 0.0], fault_type="none",
                               stage2_ran=False, timings_ms={"total": 1.0}, decided=True,
                               decided_without=(), modalities_used=window.present,
                               modalities_missing=window.missing)


@dataclass
class Feed:
    """Chunks and frames of a healthy machine in stamp order, as (kind, args) pairs."""

    until_s: float
    start_s: float = 0.0
    skip: frozenset[str] = frozenset()
    items: list = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(0)
        events = []
        for name, rate in (("accel", ACCEL_RATE), ("mic", MIC_RATE)):
            n = int(rate * CHUNK)
            for k in range(int(self.start_s / CHUNK), int(self.until_s / CHUNK)):
                data = rng.normal(0, 1, (n, len(NAMES[name]))).astype(np.float32)
                events.append((k * CHUNK, name, (EPOCH_NS + round(k * CHUNK * 1e9), rate,
                                                 NAMES[name], k * n, data.reshape(-1))))
        for name, hz in (("thermal", 9.0), ("camera", 5.0)):
            for k in range(int(self.start_s * hz), int(self.until_s * hz)):
                image = (encode(from_celsius(np.full((12, 16), 30.0, np.float32)), "mono16")
                         if name == "thermal" else encode(np.zeros((12, 16, 3), np.uint8),
                                                           "rgb8"))
                events.append((k / hz, name, (EPOCH_NS + round(k / hz * 1e9), "f", image)))
        events.sort(key=lambda e: e[0])
        self.items = [(t, name, args) for t, name, args in events if name not in self.skip]


def _pipeline(cascade=None, **kwargs) -> MonitorPipeline:
    return MonitorPipeline(monitor_assembler(1.0, 0.5, 0.1, 2.0), cascade or StandInCascade(),
                           AlarmManager("rig_1"), **kwargs)


def _run(pipeline: MonitorPipeline, feed: Feed, bad: dict[float, tuple] | None = None,
         now_ns: int | None = None) -> tuple[list[int], list[str]]:
    """Feed in order, slipping `bad` (at time t: (name, args)) in; return window ends and
    the reasons of the rejections."""
    ends, reasons = [], []
    pending = sorted((bad or {}).items())
    for t, name, args in feed.items:
        while pending and pending[0][0] <= t:
            _, (bad_name, bad_args) = pending.pop(0)
            try:
                ends += [o.window.t_end_ns for o in _send(pipeline, bad_name, bad_args, now_ns)]
            except InputRejectedError as err:
                reasons.append(str(err))
        ends += [o.window.t_end_ns for o in _send(pipeline, name, args, now_ns)]
    return ends, reasons


def _send(pipeline, name, args, now_ns):
    if name in ("accel", "mic"):
        return pipeline.on_chunk(name, *args, now_ns=now_ns)
    return pipeline.on_image(name, *args, now_ns=now_ns)


CLEAN_ENDS = _run(_pipeline(), Feed(8.0))[0]


def _image(encoding="32FC1", **changes) -> RawImage:
    raw = encode(np.full((12, 16), 30.0, np.float32), "32FC1")
    fields = {**raw.__dict__, "encoding": encoding, **changes}
    return RawImage(**fields)


def _chunk(name="accel", t_s=3.0, rate=ACCEL_RATE, n=100, fill=0.1, channels=None,
           index=None) -> tuple:
    channels = NAMES[name] if channels is None else channels
    data = np.full(n * len(channels), fill, np.float32)
    index = index if index is not None else 10**9  # far from the clean stream's indices
    return (EPOCH_NS + int(t_s * 1e9), rate, channels, index, data)


def _stamped(t_s: float) -> int:
    return EPOCH_NS + int(t_s * 1e9)


BAD_MESSAGES = {
    # images
    "unsupported encoding": ("thermal", (_stamped(3), "f", _image("bayer_rggb8"))),
    "step below the row size": ("thermal", (_stamped(3), "f", _image(step=10))),
    "data length != step x height": ("thermal", (_stamped(3), "f", _image(height=13))),
    "zero size": ("thermal", (_stamped(3), "f", RawImage("32FC1", 0, 0, 0, False, b""))),
    "huge size, tiny data": ("camera", (_stamped(3), "f",
                                        RawImage("rgb8", 100_000, 100_000, 300_000, False,
                                                 b"\0" * 10))),
    "colour image on the thermal input": ("thermal", (_stamped(3), "f",
                                                      encode(np.zeros((4, 4, 3), np.uint8),
                                                             "rgb8"))),
    "thermal image on the camera input": ("camera", (_stamped(3), "f", _image())),
    "NaN pixels": ("thermal", (_stamped(3), "f",
                               encode(np.full((12, 16), np.nan, np.float32), "32FC1"))),
    # chunks
    "channel/data mismatch": ("accel", (*_chunk()[:4], np.zeros(299, np.float32))),
    "NaN samples": ("accel", _chunk(fill=np.nan)),
    "Inf samples": ("mic", _chunk("mic", rate=MIC_RATE, fill=np.inf)),
    "sample rate 0": ("accel", _chunk(rate=0.0)),
    "sample rate negative": ("accel", _chunk(rate=-2000.0)),
    "sample rate NaN": ("mic", _chunk("mic", rate=float("nan"))),
    "sample rate absurd": ("accel", _chunk(rate=MAX_SAMPLE_RATE_HZ * 1000)),
    "chunk spanning hours (rate 1e-300 Hz)": ("accel", _chunk(rate=1e-300, n=2)),
    "wrong channel count": ("accel", _chunk(channels=["x", "y"])),
    "no channels": ("accel", _chunk(channels=[])),
    "no samples": ("accel", _chunk(n=0)),
    # stamps
    "zero stamp (chunk)": ("accel", (0, *_chunk()[1:])),
    "zero stamp (image)": ("thermal", (0, "f", _image())),
    "far future stamp": ("accel", _chunk(t_s=10**6)),
}


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_bad_message_is_refused_with_a_reason_and_loses_nothing(case):
    name, args = BAD_MESSAGES[case]
    pipeline = _pipeline(max_future_s=60.0)
    ends, reasons = _run(pipeline, Feed(8.0), {3.02: (name, args)}, now_ns=_stamped(4))
    assert len(reasons) == 1 and reasons[0], case
    stats = pipeline.stats.inputs[name]
    assert stats.rejected == 1 and stats.last_error == reasons[0]
    assert ends == CLEAN_ENDS  # every window of the good data, nothing more, nothing less


def test_big_endian_images_are_decoded_not_refused():
    celsius = np.linspace(20, 80, 12 * 16, dtype=np.float32).reshape(12, 16)
    little = encode(from_celsius(celsius), "mono16")
    big = RawImage("mono16", 12, 16, 32, True, from_celsius(celsius).astype(">u2").tobytes())
    pipeline = _pipeline()
    decoded = []
    add_frame = pipeline.assembler.add_frame
    pipeline.assembler.add_frame = lambda name, stamp, image, frame_id="": (
        decoded.append(image) or add_frame(name, stamp, image, frame_id))
    pipeline.on_image("thermal", _stamped(0.1), "f", little)
    pipeline.on_image("thermal", _stamped(0.2), "f", big)
    float_big = RawImage("32FC1", 12, 16, 64, True, celsius.astype(">f4").tobytes())
    pipeline.on_image("thermal", _stamped(0.3), "f", float_big)
    assert np.allclose(decoded[0], decoded[1], atol=0.01)
    assert np.allclose(decoded[2], celsius)
    assert pipeline.stats.inputs["thermal"].rejected == 0


def test_duplicated_chunks_are_counted_and_make_no_extra_window():
    feed = Feed(8.0)
    doubled = Feed(8.0)
    doubled.items = [item for item in feed.items for _ in (0, 1) if item[1] in ("accel", "mic")
                     or _ == 0]
    pipeline = _pipeline()
    ends, reasons = _run(pipeline, doubled)
    assert ends == CLEAN_ENDS and reasons == []
    diag = assembler_diagnostics(pipeline.assembler)
    assert diag["accel_duplicates"] == 8.0 / CHUNK and diag["mic_duplicates"] == 8.0 / CHUNK


def test_gaps_are_counted_and_windows_go_on():
    feed = Feed(8.0)
    lost = {round(k * CHUNK, 3) for k in (60, 61, 62)}  # 150 ms of accel lost in transit
    feed.items = [i for i in feed.items if not (i[1] == "accel" and round(i[0], 3) in lost)]
    pipeline = _pipeline()
    ends, _ = _run(pipeline, feed)
    assert ends == CLEAN_ENDS
    assert assembler_diagnostics(pipeline.assembler)["accel_gaps"] == 1
    cascade = pipeline.cascade
    gappy = [w for w in cascade.windows if not w.streams["accel"].valid.all()]
    assert gappy and all("accel" in w.streams for w in gappy)  # coverage still enough


def test_sample_rate_change_mid_stream_resets_that_stream_and_windows_go_on():
    feed = Feed(8.0)
    items = []
    for t, name, args in feed.items:
        if name == "mic" and t >= 4.0:  # the microphone driver switches to 2 kHz
            k = round(t / CHUNK)
            data = np.zeros(int(2 * MIC_RATE * CHUNK), np.float32)
            args = (args[0], 2 * MIC_RATE, args[2], k * len(data), data)
        items.append((t, name, args))
    feed.items = items
    pipeline = _pipeline()
    ends, reasons = _run(pipeline, feed)
    assert reasons == [] and ends == CLEAN_ENDS
    assert pipeline.assembler.stats.events_by_kind["rate_change"] == 1
    late = [w for w in pipeline.cascade.windows if w.t_end_ns > _stamped(6.0)]
    assert late and all(w.streams["mic"].sample_rate == 2 * MIC_RATE for w in late)


def test_bag_loop_restarts_the_grid_and_processes_the_second_pass():
    """Stamps jump back to the start (a bag played in a loop): the synchroniser resets and
    the second pass makes the same windows again."""
    pipeline = _pipeline()
    first, _ = _run(pipeline, Feed(8.0))
    second, _ = _run(pipeline, Feed(8.0))
    assert first == CLEAN_ENDS
    assert second[-5:] == CLEAN_ENDS[-5:] and len(second) >= len(CLEAN_ENDS) - 2
    assert pipeline.assembler.stats.events_by_kind["time_backwards"] >= 1


def test_stamps_leaping_forward_flush_and_resume():
    """A paused bag or a driver whose clock stepped: 60 s of silence, then data again."""
    pipeline = _pipeline()
    first, _ = _run(pipeline, Feed(8.0))
    later, _ = _run(pipeline, Feed(76.0, start_s=68.0))
    assert first == CLEAN_ENDS and len(later) >= len(CLEAN_ENDS) - 4
    assert min(later) > _stamped(68.0)
    assert pipeline.assembler.stats.events_by_kind["time_forward"] == 1


def test_modality_missing_for_minutes_windows_go_on_and_name_it():
    """Thermal and camera silent for 3 minutes mid-run, then back."""
    all_ends, _ = _run(_pipeline(), Feed(240.0))
    feed = Feed(240.0)
    feed.items = [i for i in feed.items
                  if not (i[1] in ("thermal", "camera") and 30.0 <= i[0] < 210.0)]
    pipeline = _pipeline()
    ends, _ = _run(pipeline, feed)
    assert ends == all_ends and len(ends) > 470  # none dropped
    by_end = {w.t_end_ns: w for w in pipeline.cascade.windows}
    silent = [w for t, w in by_end.items() if _stamped(33.0) <= t <= _stamped(209.0)]
    assert silent and all(set(w.missing) == {"thermal", "camera"} for w in silent)
    assert all(set(w.present) == {"accel", "mic"} for w in silent)
    back = [w for t, w in by_end.items() if t >= _stamped(212.0)]
    assert back and all(w.missing == () for w in back)


def test_a_window_the_models_fail_on_is_counted_and_the_next_ones_go_on():
    cascade = StandInCascade(fail_at={3, 4})
    pipeline = _pipeline(cascade)
    ends, _ = _run(pipeline, Feed(8.0))
    assert len(ends) == len(CLEAN_ENDS) - 2
    assert pipeline.stats.inference.failures == 2
    assert pipeline.stats.inference.last_failure == "RuntimeError: model blew up"


class RulFailingCascade(StandInCascade):
    """The RUL stage raises on every second window it is given (after the decision)."""

    def __init__(self) -> None:
        super().__init__()
        self.rul_calls = 0

    def observe_rul(self, window):
        self.rul_calls += 1
        if self.rul_calls % 2 == 0:
            raise RuntimeError("RUL blew up")
        return SimpleNamespace(made_on=self.rul_calls)


def test_a_failing_rul_stage_is_counted_and_never_costs_a_decision():
    cascade = RulFailingCascade()
    pipeline = _pipeline(cascade)
    outputs = []
    for _, name, args in Feed(6.0).items:
        outputs += _send(pipeline, name, args, None)
    estimates = [pipeline.observe_rul(out) for out in outputs]
    assert len(outputs) == len(cascade.windows) and outputs  # every window was decided
    assert [e is None for e in estimates] == [i % 2 == 1 for i in range(len(outputs))]
    inference = pipeline.stats.inference
    assert inference.failures == 0 and inference.rul_failures == len(outputs) // 2
    assert inference.last_failure == "RUL stage: RuntimeError: RUL blew up"


def test_image_slop_change_keeps_buffered_frames():
    pipeline = _pipeline()
    _run(pipeline, Feed(4.0))
    held, dropped = pipeline.assembler.frames_held, pipeline.assembler.frames_dropped
    assert held > 0
    pipeline.assembler.set_image_slop(0.3)
    assert pipeline.assembler.frames_dropped == dropped
    assert pipeline.assembler.frames_held == held
    assert pipeline.assembler.config.images[0].slop_s == 0.3
    with pytest.raises(ValueError, match="image slop"):
        pipeline.assembler.set_image_slop(5.0)


def _accel_windows(pipeline: MonitorPipeline, unit: str, scale: float = 1.0):
    """One second of a 3-axis sine fed with `unit`; returns the windows the cascade saw."""
    n = int(ACCEL_RATE * CHUNK)
    outputs = []
    for k in range(int(3.0 / CHUNK)):
        t = (k * n + np.arange(n)) / ACCEL_RATE
        data = np.stack([np.sin(2 * math.pi * 50 * t)] * 3, axis=1).astype(np.float32) * scale
        outputs += pipeline.on_chunk("accel", EPOCH_NS + round(k * CHUNK * 1e9), ACCEL_RATE,
                                     NAMES["accel"], k * n, data.reshape(-1), unit=unit)
    return outputs


def test_accelerometer_in_g_is_converted_to_the_models_unit():
    si = _accel_windows(_pipeline(), "m/s^2", scale=9.80665)
    in_g = _accel_windows(_pipeline(), "g")
    assert len(si) == len(in_g) > 0
    for a, b in zip(si, in_g, strict=True):
        np.testing.assert_allclose(a.window.streams["accel"].samples,
                                   b.window.streams["accel"].samples, rtol=1e-5, atol=1e-6)
    # a pipeline whose models work in g gets the same velocity (ISO zones are in SI)
    models_in_g = _accel_windows(_pipeline(accel_unit="g"), "g")
    assert [o.velocity_mm_s for o in models_in_g] == pytest.approx(
        [o.velocity_mm_s for o in si], rel=1e-4)


def test_unknown_unit_and_wrong_rate_are_refused_with_the_reason():
    pipeline = _pipeline(sample_rates={"accel": 25600.0})
    with pytest.raises(InputRejectedError, match="differs from the 25600 Hz"):
        pipeline.on_chunk("accel", EPOCH_NS, ACCEL_RATE, NAMES["accel"], 0,
                          np.zeros(30, np.float32))
    pipeline = _pipeline()
    with pytest.raises(InputRejectedError, match="unknown acceleration unit 'furlong'"):
        pipeline.on_chunk("accel", EPOCH_NS, ACCEL_RATE, NAMES["accel"], 0,
                          np.zeros(30, np.float32), unit="furlong")
    assert pipeline.stats.inputs["accel"].rejected == 1
    with pytest.raises(ValueError, match="unknown acceleration unit"):
        _pipeline(accel_unit="furlong")


def test_channels_in_another_order_are_reordered_and_another_count_is_refused():
    data = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    in_order, shuffled = _pipeline(), _pipeline()
    outputs_a, outputs_b = [], []
    for k in range(100):  # 5 s: the silent mic times out, windows come on accel alone
        stamp = EPOCH_NS + round(k * 0.05 * 1e9)
        outputs_a += in_order.on_chunk("accel", stamp, ACCEL_RATE, ["x", "y", "z"], k * 100,
                                       data.reshape(-1))
        outputs_b += shuffled.on_chunk("accel", stamp, ACCEL_RATE, ["z", "x", "y"], k * 100,
                                       data[:, [2, 0, 1]].reshape(-1))
    assert len(outputs_a) == len(outputs_b) > 0
    for a, b in zip(outputs_a, outputs_b, strict=True):
        np.testing.assert_array_equal(a.window.streams["accel"].samples,
                                      b.window.streams["accel"].samples)
    with pytest.raises(InputRejectedError, match=r"2 channels \['h', 'v'\], the models take 3"):
        in_order.on_chunk("accel", EPOCH_NS + 5 * 10**9, ACCEL_RATE, ["h", "v"], 10000,
                          np.zeros(200, np.float32))


@pytest.mark.parametrize("why, args", [
    ("channel count", dict(channels=["x", "y"])),
    ("sample rate", dict(rate=1000.0)),
    ("duration", dict(rate=ACCEL_RATE, n=200_000)),
])
def test_a_chunk_refused_on_its_metadata_is_never_decoded(monkeypatch, why, args):
    """Refused messages must cost little (a flood of them would starve the valid inputs):
    what the header and metadata already tell is checked before the payload is touched."""
    import pm_monitor.core.pipeline as pipeline_module

    def decode_must_not_run(*_args, **_kwargs):
        raise AssertionError(f"payload decoded although the {why} was wrong")

    monkeypatch.setattr(pipeline_module, "decode_chunk", decode_must_not_run)
    pipeline = _pipeline(sample_rates={"accel": ACCEL_RATE})
    with pytest.raises(InputRejectedError):
        pipeline.on_chunk("accel", *_chunk(**args))
    assert pipeline.stats.inputs["accel"].rejected == 1


def test_a_second_source_on_an_input_is_refused_while_the_first_one_delivers():
    """A foreign publisher on the same topic (its own indices, stamps 5 s behind) used to
    interleave with the sensor's stream and destroy most windows; its chunks are refused on
    their frame_id, and the input follows a new sensor only after the first fell silent."""
    pipeline = _pipeline()
    clean = Feed(8.0)
    ends, reasons = [], []
    for t, name, args in clean.items:
        now = _stamped(t)
        outputs = (pipeline.on_chunk(name, *args, now_ns=now, frame_id=f"rig/{name}")
                   if name in ("accel", "mic") else pipeline.on_image(name, *args, now_ns=now))
        ends += [o.window.t_end_ns for o in outputs]
        if name == "accel":  # a foreign accelerometer chunk after every real one
            stamp, rate, channels, index, data = _chunk(t_s=max(t - 5.0, 0.1), index=0)
            try:
                pipeline.on_chunk("accel", stamp, rate, channels, index, data, now_ns=now,
                                  frame_id="other/accel")
            except InputRejectedError as err:
                reasons.append(str(err))
    assert ends == CLEAN_ENDS  # the windows are exactly those without the intruder
    assert reasons and all("a second publisher" in r for r in reasons)
    assert pipeline.stats.inputs["accel"].foreign == len(reasons)
    later = _stamped(8.0) + 3 * 10**9  # the rig's accelerometer silent for 3 s > timeout 2 s
    stamp, rate, channels, index, data = _chunk(t_s=11.0, index=0)
    pipeline.on_chunk("accel", stamp, rate, channels, index, data, now_ns=later,
                      frame_id="other/accel")
    assert pipeline.stats.inputs["accel"].source_frame_id == "other/accel"
