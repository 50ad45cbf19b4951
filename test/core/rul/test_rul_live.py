"""The live estimator: chunks in, one estimate per update period of stream time, evidence kind
and validity from the model, the onset from the any-machine monitor's state, bad input refused
with a reason and counted, units, rates, gaps."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rul_fakes import FS, femto_asset, small_prognosis, vibration

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2 as G
from pm_monitor.core.pipeline import InputRejectedError
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.prognosis import PrognosisModel

CHANNELS = ["horizontal", "vertical"]
EPOCH_NS = 1_700_000_000 * 10**9
CHUNK = 512  # 20 ms
ASSET = femto_asset()
SHIPPED_FEMTO_MODEL = Path(__file__).resolve().parents[3] / "models" / "rul_femto" / \
    "rul_prognosis.json"


def snapshot_chunks(snapshot: int, frames: np.ndarray, period_s: float = 10.0, fs: float = FS):
    """One 0.1 s snapshot every period_s, in chunks, with FEMTO-style index gaps."""
    first = round(snapshot * period_s * fs)
    for k in range(0, len(frames), CHUNK):
        stamp = EPOCH_NS + round((first + k) * 1e9 / fs)
        yield stamp, first + k, frames[k:k + CHUNK]


@pytest.fixture(scope="module")
def model():
    return small_prognosis()


def feed(estimator, snapshots: int, amplitude=lambda i: 1.0, unit="g", scale=1.0, fs=FS):
    out = []
    n = round(0.1 * fs)
    for i in range(snapshots):
        frames = vibration(n, amplitude(i), seed=i) * scale
        for stamp, index, chunk in snapshot_chunks(i, frames, fs=fs):
            out += estimator.on_chunk(stamp, fs, CHANNELS, unit, index, chunk.reshape(-1))
    return out


def test_one_estimate_per_snapshot_prior_before_onset(model):
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    estimates = feed(estimator, 8)
    assert len(estimates) == 8
    last = estimates[-1]
    assert last.lower_s <= last.median_s <= last.upper_s
    assert last.evidence == "population_prior" and last.valid  # calibrated prior
    assert last.health_index > 0.95 and last.coverage == pytest.approx(0.8)
    assert last.elapsed_s == pytest.approx(70.1, abs=0.01)
    stamps = [e.stamp_ns for e in estimates]
    assert np.allclose(np.diff(stamps), 10e9, atol=1e6)
    assert estimator.gaps == 7  # the pauses between snapshots, not data loss inside one
    assert estimator.stats.inference.windows == 8


def test_degradation_onset_switches_to_condition_based(model):
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0), ASSET)
    # healthy for 15 snapshots (> the 60 s reference), then the RMS grows 5x: the monitor
    # confirms a not-Normal state after its persistence (3 windows), that is the onset
    estimates = feed(estimator, 25, amplitude=lambda i: 1.0 if i < 15 else 5.0)
    assert estimates[12].evidence == "population_prior"
    assert estimates[-1].evidence == "condition_based" and estimates[-1].valid
    assert 150.0 <= estimates[-1].onset_s <= 200.0
    assert estimates[-1].onset_trigger in ("pre_warning", "warning", "failure")
    assert estimates[-1].health_index < 0.5
    diagnostics = estimator.diagnostics()
    assert diagnostics["onset_detected"] and diagnostics["health_state"] != "normal"
    assert estimator.monitor.rules.trend_ratio == model.onset.trend_ratio


def test_without_an_asset_description_there_is_no_onset_only_the_prior(model):
    """The indicators alone never declare an onset (one degradation detector): without the
    monitor the estimate stays the calibrated population prior, and diagnostics say why."""
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    estimates = feed(estimator, 25, amplitude=lambda i: 1.0 if i < 15 else 5.0)
    assert all(e.evidence == "population_prior" and e.valid for e in estimates)
    assert estimates[-1].damage > 0.5  # the damage score still sees the rise
    assert estimator.diagnostics()["onset_source"] == "none"


def test_a_sound_only_asset_is_refused_with_the_reason(model):
    sound_only = replace(ASSET, accelerometer=False, microphone=True)
    with pytest.raises(ValueError, match="microphone alone"):
        LiveRulEstimator(model, LiveConfig(update_period_s=10.0), sound_only)


def test_an_uncalibrated_model_never_publishes_a_valid_estimate():
    estimator = LiveRulEstimator(small_prognosis(calibrated=False), asset=ASSET)
    estimates = feed(estimator, 25, amplitude=lambda i: 1.0 if i < 15 else 5.0)
    assert estimates and not any(e.valid for e in estimates)
    assert {e.distribution.evidence for e in estimates} == {"not_calibrated"}


def test_m_per_s2_gives_the_same_estimate_as_g(model):
    in_g = feed(LiveRulEstimator(model), 12, amplitude=lambda i: 1.0 + 0.3 * (i > 8))
    in_si = feed(LiveRulEstimator(model), 12, amplitude=lambda i: 1.0 + 0.3 * (i > 8),
                 unit="m/s^2", scale=G)
    assert in_si[-1].damage == pytest.approx(in_g[-1].damage, abs=1e-5)
    assert in_si[-1].median_s == pytest.approx(in_g[-1].median_s, rel=1e-6)


def test_any_sample_rate_gives_physical_indicators(model):
    """Rate-aware: the same vibration at 12.8 kHz is estimated like at 25.6 kHz."""
    fast = feed(LiveRulEstimator(model, asset=ASSET), 25,
                amplitude=lambda i: 1.0 if i < 15 else 5.0)
    slow = feed(LiveRulEstimator(model, asset=ASSET), 25,
                amplitude=lambda i: 1.0 if i < 15 else 5.0, fs=12800.0)
    assert len(slow) == 25 and slow[-1].evidence == "condition_based"
    assert slow[-1].onset_s == pytest.approx(fast[-1].onset_s, abs=10.1)


def test_a_mems_rate_gives_the_onset_and_a_condition_based_estimate(model):
    """3.2 kHz (an ADXL345): the RMS indicators see the rise and the onset monitor's state,
    judged by the ISO zones there (its bearing-damage rules and envelope are off, and said),
    confirms it; a model over indicators the rate cannot see is refused."""
    fast = feed(LiveRulEstimator(model, asset=ASSET), 25,
                amplitude=lambda i: 1.0 if i < 15 else 5.0)
    estimator = LiveRulEstimator(model, asset=ASSET)
    slow = feed(estimator, 25, amplitude=lambda i: 1.0 if i < 15 else 5.0, fs=3200.0)
    assert len(slow) == 25 and slow[-1].evidence == "condition_based" and slow[-1].valid
    assert slow[-1].onset_s == pytest.approx(fast[-1].onset_s, abs=10.1)
    assert not estimator.monitor.bearing_rules
    assert any("envelope analysis needs" in u for u in estimator.monitor.unavailable)
    shipped = PrognosisModel.load(SHIPPED_FEMTO_MODEL)  # its bands reach 10 kHz
    with pytest.raises(InputRejectedError, match="not computed at 3200 Hz"):
        feed(LiveRulEstimator(shipped, asset=ASSET), 1, fs=3200.0)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"stamp": 0}, "stamp is zero"),
    ({"rate": 2000.0}, "below 2222 Hz"),
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
    if "rate" not in kwargs:
        assert feed(estimator, 1)  # and the estimator goes on afterwards


def test_a_changed_sample_rate_is_refused_until_reset(model):
    estimator = LiveRulEstimator(model)
    feed(estimator, 1)
    with pytest.raises(InputRejectedError, match="differs from this stream"):
        estimator.on_chunk(EPOCH_NS + 10**12, 12800.0, CHANNELS, "g", 10**9,
                           np.zeros(8, np.float32))
    estimator.reset()
    assert feed(estimator, 1, fs=12800.0)


def test_extra_channels_are_picked_by_name(model):
    estimator = LiveRulEstimator(model, LiveConfig(horizontal_channel="h",
                                                   vertical_channel="v"))
    frames = vibration(2560, 1.0, seed=0)
    three = np.column_stack([np.zeros(2560, np.float32), frames[:, 1], frames[:, 0]])
    estimator.on_chunk(EPOCH_NS, FS, ["z", "v", "h"], "g", 0, three.reshape(-1))
    reference = LiveRulEstimator(model)
    reference.on_chunk(EPOCH_NS, FS, CHANNELS, "g", 0, frames.reshape(-1))
    np.testing.assert_allclose(estimator.tracker.onset._early[0],
                               reference.tracker.onset._early[0])


def test_slightly_early_snapshots_still_count_and_reset_forgets(model):
    estimator = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    count = 0
    for i in range(4):  # 9.99 s apart: a jittering acquisition clock
        for stamp, index, frames in snapshot_chunks(i, vibration(2560, 1.0, i), 9.99):
            count += len(estimator.on_chunk(stamp, FS, CHANNELS, "g", index, frames.reshape(-1)))
    assert count == 4
    estimator.reset()
    assert estimator.stats.inference.windows == 0 and estimator.gaps == 0
    assert not estimator.diagnostics()["onset_detected"]
