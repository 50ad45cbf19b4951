"""Targets, the causal onset rule and normalised RUL <-> seconds."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training.rul_network.targets import (
    OnsetRule,
    detect_onset,
    linear_target,
    piecewise_target,
    rul_s_from_linear,
    rul_s_from_piecewise,
)


def degrading_record(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(600) * 10.0
    hi = 0.4 + 0.02 * rng.normal(size=t.size)
    hi[400:] += 0.4 * np.exp((t[400:] - t[400]) / 800.0)  # degradation from t = 4000 s
    return t, hi


def test_onset_found_after_the_change_and_rule_is_causal():
    t, hi = degrading_record()
    onset, decided = detect_onset(t, hi, OnsetRule())
    assert 4000.0 <= onset <= 4600.0 and decided >= onset
    # causal: the record cut right after the decision gives the same onset
    cut = int(np.searchsorted(t, decided)) + 1
    assert detect_onset(t[:cut], hi[:cut])[0] == onset
    # and nothing is detected on the healthy part alone
    assert detect_onset(t[:400], hi[:400]) == (None, None)


def test_targets():
    t = np.array([0.0, 50.0, 75.0, 100.0])
    np.testing.assert_allclose(linear_target(t, 100.0), [1.0, 0.5, 0.25, 0.0])
    np.testing.assert_allclose(piecewise_target(t, 100.0, 50.0), [1.0, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(piecewise_target(t, 100.0, None), [1.0, 1.0, 1.0, 0.0])


def test_seconds_conversions_invert_the_targets():
    life, t, onset = 1000.0, 600.0, 400.0
    assert rul_s_from_linear(linear_target(t, life), t) == pytest.approx(400.0)
    assert rul_s_from_piecewise(piecewise_target(t, life, onset), t, onset) == \
        pytest.approx(400.0)
    assert np.isnan(rul_s_from_piecewise(0.5, t, None))
    assert np.isnan(rul_s_from_piecewise(0.5, 300.0, onset))  # before the onset
