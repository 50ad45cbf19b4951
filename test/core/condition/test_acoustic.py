import numpy as np
import pytest

from pm_monitor.core.condition import acoustic
from pm_monitor.core.condition.acoustic import (
    AcousticMonitor,
    AcousticRules,
    AcousticVote,
    MicRateError,
)
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.types import HealthState

RATE = 16000.0


def fan_sound(seconds: float, seed: int, tone_hz: float | None = None,
              rate: float = RATE, gain: float = 1.0) -> np.ndarray:
    """Broadband fan noise with a blade-pass hum; `tone_hz` adds a whine (a changed sound)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.1 * rng.standard_normal(t.size) + 0.05 * np.sin(2 * np.pi * 120.0 * t)
    if tone_hz:
        x += 0.08 * np.sin(2 * np.pi * tone_hz * t)
    return gain * x


def test_bands_are_in_hz_and_follow_the_rate():
    bands = acoustic.acoustic_bands(8000.0)
    assert len(bands) == acoustic.N_BANDS
    assert bands[0][0] == pytest.approx(50.0) and bands[-1][1] == pytest.approx(0.47 * 8000)
    assert acoustic.acoustic_bands(48000.0)[-1][1] == pytest.approx(0.47 * 48000)
    names = acoustic.acoustic_feature_names(RATE)
    assert len(names) == acoustic.N_BANDS + 1 and names[-1] == acoustic.LEVEL_FEATURE
    with pytest.raises(MicRateError, match="below 8000 Hz"):
        acoustic.acoustic_bands(4000.0)


def test_features_split_spectral_shape_from_level():
    quiet = acoustic.acoustic_features(fan_sound(1.0, 0), RATE)
    loud = acoustic.acoustic_features(fan_sound(1.0, 0, gain=10.0), RATE)
    assert quiet.shape == (1, acoustic.N_BANDS + 1)
    assert quiet[0, :-1].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(loud[0, :-1], quiet[0, :-1], rtol=1e-6)  # same shape
    assert loud[0, -1] == pytest.approx(100.0 * quiet[0, -1], rel=1e-6)  # power x gain^2
    whine = acoustic.acoustic_features(fan_sound(1.0, 0, tone_hz=3000.0), RATE)
    band = next(i for i, (lo, hi) in enumerate(acoustic.acoustic_bands(RATE)) if lo <= 3000 < hi)
    assert whine[0, band] > 5 * quiet[0, band]
    frames = acoustic.clip_frames(fan_sound(3.0, 1), RATE)
    assert frames.shape == (5, acoustic.N_BANDS + 1)  # 1 s frames, 0.5 s hop


def _commission(monitor: AcousticMonitor, seconds: int, seed0: int = 0) -> None:
    for k in range(seconds * 2):
        monitor.process(fan_sound(1.0, seed0 + k)[:, None], new_s=0.5)


def test_commissions_per_asset_resumes_after_restart_and_flags_a_changed_sound(tmp_path):
    store = ReferenceStore(tmp_path).part(acoustic.ACOUSTIC_PART)
    first = AcousticMonitor("fan_3", ["mic"], RATE, store, required_s=10.0)
    _commission(first, 3)
    assert not first.reference.complete and store.path("fan_3").is_file()
    assert store.path("fan_3").parent == tmp_path / "acoustic"
    again = AcousticMonitor("fan_3", ["mic"], RATE, store, required_s=10.0)  # restart
    assert again.reference.progress == pytest.approx(0.3)
    _commission(again, 7, seed0=100)
    assert again.reference.complete
    healthy = [again.process(fan_sound(1.0, 500 + k)[:, None]) for k in range(10)]
    assert not any(a.anomalous for a in healthy) and not healthy[0].commissioning
    changed = again.process(fan_sound(1.0, 999, tone_hz=3000.0)[:, None])
    assert changed.anomalous and "mic anomaly" in changed.summary
    assert "share_" in changed.summary  # the band that moved
    other = AcousticMonitor("fan_4", ["mic"], RATE, store, required_s=10.0)
    assert other.reference.rows == []  # one asset's sound never enters another's reference
    with pytest.raises(ValueError, match="does not fit"):
        AcousticMonitor("fan_3", ["mic"], 48000.0, store, required_s=10.0)
    again.reset()
    assert not store.path("fan_3").exists() and not again.reference.complete


def _assessment(anomaly: float, commissioning: bool = False) -> acoustic.AcousticAssessment:
    return acoustic.AcousticAssessment(commissioning, 1.0, anomaly, np.zeros(0), "")


def test_vote_alone_needs_persistence_and_never_goes_above_pre_warning():
    vote = AcousticVote(AcousticRules(alone_s=5.0))
    states = [vote.update(_assessment(3.0), False, 0.5) for _ in range(9)]
    assert set(states) == {HealthState.NORMAL}  # 4.5 s of anomalous sound alone
    assert vote.update(_assessment(3.0), False, 0.5) == HealthState.PRE_WARNING
    assert vote.update(_assessment(50.0), True, 0.5) == HealthState.PRE_WARNING  # at most
    assert vote.update(_assessment(0.2), False, 0.5) == HealthState.PRE_WARNING  # latched


def test_vote_corroborates_vibration_and_a_missing_mic_breaks_the_streak():
    vote = AcousticVote(AcousticRules(alone_s=100.0))
    vote.update(_assessment(2.0), True, 0.5)
    vote.update(_assessment(2.0), True, 0.5)
    assert vote.update(None, True, 0.5) == HealthState.NORMAL  # no mic: no vote, streak ends
    vote.update(_assessment(2.0), True, 0.5)
    vote.update(_assessment(2.0), True, 0.5)
    assert vote.state == HealthState.NORMAL
    assert vote.update(_assessment(2.0), True, 0.5) == HealthState.PRE_WARNING
    vote.reset()
    assert vote.update(_assessment(float("nan"), commissioning=True), True, 0.5) == \
        HealthState.NORMAL
    for _ in range(5):  # vibration alone never counts as the mic's vote
        assert vote.update(_assessment(0.5), True, 0.5) == HealthState.NORMAL
