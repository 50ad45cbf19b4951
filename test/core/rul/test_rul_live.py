"""The live estimator: chunks in, one estimate per update period of stream time, bad input
refused with a reason and counted, units and gaps handled."""
from __future__ import annotations

import numpy as np
import pytest
from rul_fakes import FS, small_ensemble, vibration

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2 as G
from pm_monitor.core.pipeline import InputRejectedError
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.targets import OnsetRule

CHANNELS = ["horizontal", "vertical"]
EPOCH_NS = 1_700_000_000 * 10**9
CHUNK = 512  # 20 ms


def snapshot_chunks(snapshot: int, frames: np.ndarray, period_s: float = 10.0):
    """One 0.1 s snapshot every period_s, in 5 chunks, with FEMTO-style index gaps."""
    first = round(snapshot * period_s * FS)
    for k in range(0, len(frames), CHUNK):
        stamp = EPOCH_NS + round((first + k) * 1e9 / FS)
        yield stamp, first + k, frames[k:k + CHUNK]


@pytest.fixture(scope="module")
def model():
    return small_ensemble()


def feed(estimator, snapshots: int, amplitude=lambda i: 1.0, unit="g", scale=1.0):
    out = []
    for i in range(snapshots):
        frames = vibration(2560, amplitude(i), seed=i) * scale
        for stamp, index, chunk in snapshot_chunks(i, frames):
            out += estimator.on_chunk(stamp, FS, CHANNELS, unit, index, chunk.reshape(-1))
    return out


def test_one_estimate_per_snapshot_with_interval_and_health(model):
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    estimates = feed(estimator, 8)
    assert len(estimates) == 8
    last = estimates[-1]
    assert last.lower_s <= last.rul_s <= last.upper_s
    assert 0.0 <= last.health_index <= 1.0 and last.coverage == pytest.approx(0.8)
    assert not last.valid  # a healthy-looking stream: no onset, RUL not meaningful
    stamps = [e.stamp_ns for e in estimates]
    assert np.allclose(np.diff(stamps), 10e9, atol=1e6)
    assert estimator.gaps == 7  # the pauses between snapshots, not data loss inside one
    assert estimator.stats.inference.windows == 8


def test_degradation_onset_makes_estimates_valid(model):
    rule = OnsetRule(baseline_s=100.0)  # a short healthy baseline keeps the test fast
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0), onset_rule=rule)
    # healthy for 15 snapshots (> the 100 s baseline), then the RMS grows 5x
    estimates = feed(estimator, 25, amplitude=lambda i: 1.0 if i < 15 else 5.0)
    assert estimator.onset.onset_s is not None
    assert 140.0 <= estimator.onset.onset_s <= 190.0
    assert estimates[-1].valid and not estimates[12].valid


def test_m_per_s2_gives_the_same_estimate_as_g(model):
    in_g = feed(LiveRulEstimator(model), 6)
    in_si = feed(LiveRulEstimator(model), 6, unit="m/s^2", scale=G)
    assert in_si[-1].normalised["linear"] == pytest.approx(in_g[-1].normalised["linear"],
                                                           abs=1e-5)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"stamp": 0}, "stamp is zero"),
    ({"rate": 12000.0}, "differs from the model"),
    ({"channels": ["x", "y"]}, "not in chunk channels"),
    ({"unit": "furlong"}, "unknown acceleration unit"),
    ({"samples": np.array([1.0, np.nan, 0.0, 0.0], np.float32)}, "NaN"),
    ({"samples": np.ones(3, np.float32)}, "multiple of 2"),
])
def test_bad_chunks_are_rejected_with_a_reason_and_counted(model, kwargs, reason):
    estimator = LiveRulEstimator(model)
    with pytest.raises(InputRejectedError, match=reason):
        estimator.on_chunk(kwargs.get("stamp", EPOCH_NS), kwargs.get("rate", FS),
                           kwargs.get("channels", CHANNELS), kwargs.get("unit", "g"), 0,
                           kwargs.get("samples", np.zeros(8, np.float32)))
    stats = estimator.stats.inputs["accel"]
    assert stats.rejected == 1 and reason.split()[0] in stats.last_error
    assert feed(estimator, 1)  # and the estimator goes on afterwards


def test_extra_channels_are_picked_by_name(model):
    estimator = LiveRulEstimator(model, LiveConfig(horizontal_channel="h",
                                                   vertical_channel="v"))
    frames = vibration(2560, 1.0, seed=0)
    three = np.column_stack([np.zeros(2560, np.float32), frames[:, 1], frames[:, 0]])
    out = estimator.on_chunk(EPOCH_NS, FS, ["z", "v", "h"], "g", 0, three.reshape(-1))
    reference = LiveRulEstimator(model).on_chunk(EPOCH_NS, FS, CHANNELS, "g", 0,
                                                 frames.reshape(-1))
    assert out[0].normalised == pytest.approx(reference[0].normalised)


def test_slightly_early_snapshots_still_count_and_reset_forgets(model):
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    count = 0
    for i in range(4):  # 9.99 s apart: a jittering acquisition clock
        for stamp, index, frames in snapshot_chunks(i, vibration(2560, 1.0, i), 9.99):
            count += len(estimator.on_chunk(stamp, FS, CHANNELS, "g", index, frames.reshape(-1)))
    assert count == 4
    estimator.reset()
    assert estimator.stats.inference.windows == 0 and estimator.gaps == 0
    assert estimator.diagnostics()["snapshots_in_history"] == 0
