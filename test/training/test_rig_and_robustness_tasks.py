"""Helpers of the rig evaluation and vibration robustness tasks."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.training.tasks.rig_eval import first_time, rising_edges
from pm_monitor.training.tasks.robustness_vibration import add_noise, drift, perturbations


def test_rising_edges_and_first_time() -> None:
    flags = np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert rising_edges(flags) == 3
    assert rising_edges(np.zeros(4, bool)) == 0
    t = np.arange(7.0)
    assert first_time(t, flags, 2.0) == 3.0
    assert first_time(t, np.zeros(7, bool), 0.0) is None


@pytest.mark.parametrize("snr_db", [30.0, 20.0, 10.0])
def test_added_noise_has_the_asked_snr(snr_db: float) -> None:
    rng = np.random.default_rng(0)
    x = np.sin(np.linspace(0, 400 * np.pi, 200_000))
    noisy = add_noise(x, snr_db, rng)
    measured = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert measured == pytest.approx(snr_db, abs=0.1)


def test_noise_power_is_per_channel_for_snapshots() -> None:
    x = np.random.default_rng(1).standard_normal((50, 256, 2)) * np.array([1.0, 10.0])
    noise = add_noise(x, 20.0, np.random.default_rng(2)) - x
    ratio = np.mean(noise[..., 1] ** 2) / np.mean(noise[..., 0] ** 2)
    assert ratio == pytest.approx(100.0, rel=0.1)


def test_drift_ramps_gain_and_offset_from_the_start_to_the_end() -> None:
    x = np.ones(101)
    np.testing.assert_allclose(drift(x, 0.5, 0.0)[[0, -1]], [1.0, 1.5])
    np.testing.assert_allclose(drift(x, 0.0, 0.5)[[0, -1]], [1.0, 1.5])  # RMS of ones = 1
    assert set(perturbations({"drift_gain_end": 0.5, "drift_offset_end": 0.5})) >= {
        "clean", "noise_30dB", "noise_20dB", "noise_10dB", "gain_and_offset_ramp"}


def test_run_metrics_delay_false_alarms_and_hotspot_error() -> None:
    from pm_monitor.sim import FaultSchedule, ScheduledFault
    from pm_monitor.training.run_plan import RunSpec
    from pm_monitor.training.tasks.rig_eval import run_metrics, summarise

    spec = RunSpec("test_xx_outer_race_de_bearing", FaultSchedule((ScheduledFault(
        "outer_race", "de_bearing", 10.0, 40.0, 2.0),), "x"), 0, 50.0)
    t = np.arange(1.0, 51.0)
    truth = np.where(t < 20, 0, np.where(t < 30, 1, 2))
    state = np.where(t < 21, 0, 1)
    state[4] = 1  # one false alarm at t = 5 s while the truth is Normal
    anomalous = t >= 15
    rows = {"t": t, "truth": truth, "state": state, "anomalous": anomalous,
            "hotspot_err": np.where(truth > 0, 3.0, np.nan), "total_ms": np.full(50, 10.0),
            "stage2_ran": state > 0, "stage2_ms": np.where(state > 0, 6.0, np.nan)}
    rows["stage2_ms"][0] = 6.0  # a timed skipped window
    m = run_metrics(spec, rows)
    assert m["false_alarms_stage1"] == 1
    assert m["delay_after_onset_stage1_s"] == 11.0  # first alarm at or after onset: t = 21
    assert m["delay_after_pre_warning_stage1_s"] == 1.0
    assert m["delay_after_onset_anomaly_s"] == 5.0
    assert m["hotspot_error_px_median"] == 3.0
    summary = summarise([m], [rows])
    cost = summary["cascade_ms_per_window"]
    assert cost["with_gating"] == 10.0
    assert cost["without_gating"] == pytest.approx(10.0 + 6.0 * np.mean(state == 0))
