"""The RUL stage of a model set (core/stages/rul.py): the one RUL model fed from analysis
windows' accelerometer. Prior (valid) before the onset, condition-based after, never valid
uncalibrated, no estimate and no crash without usable accelerometer samples, the descriptor
entry refused with its reason."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rul_fakes import FS, femto_asset, small_prognosis, vibration

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2 as G
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.stages.rul import PrognosisRul, prognosis_rul
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import ACCEL, NS_PER_S

EPOCH_NS = 1_700_000_000 * NS_PER_S
WINDOW_S, HOP_S = 1.0, 0.5
CHANNELS = ("x", "y", "z")


def window(k: int, amplitude: float, valid: bool = True, channels=CHANNELS) -> AnalysisWindow:
    """The k-th 1 s window (hop 0.5 s) of x / y / z in m/s^2."""
    n = round(WINDOW_S * FS)
    xy = vibration(n, amplitude, seed=k) * G
    samples = np.column_stack([xy, np.zeros(n, np.float32)])[:, :len(channels)]
    end_ns = EPOCH_NS + round((WINDOW_S + k * HOP_S) * NS_PER_S)
    mask = np.full(n, valid)
    stream = StreamWindow(samples.astype(np.float32), FS, tuple(channels),
                          end_ns - round(WINDOW_S * NS_PER_S), mask)
    return AnalysisWindow(end_ns, WINDOW_S, {ACCEL: stream})


def stage(calibrated: bool = True, asset=None, period_s: float = 10.0) -> PrognosisRul:
    config = LiveConfig(horizontal_channel="x", vertical_channel="y", update_period_s=period_s)
    return PrognosisRul(LiveRulEstimator(small_prognosis(calibrated), config, asset), "m/s^2")


def run(rul: PrognosisRul, windows: int, amplitude=lambda k: 1.0) -> list:
    made = [rul.observe(window(k, amplitude(k))) for k in range(windows)]
    return [e for e in made if e is not None]


def test_one_valid_prior_estimate_per_update_period_before_the_onset():
    rul = stage(asset=femto_asset())
    estimates = run(rul, 60)  # 30.5 s of windows, snapshots every 10 s
    assert len(estimates) == 3 and rul.latest is estimates[-1]
    assert all(e.evidence == "population_prior" and e.valid for e in estimates)
    assert np.allclose(np.diff([e.stamp_ns for e in estimates]), 10 * NS_PER_S)
    assert estimates[0].elapsed_s == pytest.approx(1.0)  # the stream started with the window
    assert rul.status()["rul_evidence_kind"] == "population_prior"


def test_condition_based_after_the_onset_of_its_own_monitor():
    rul = stage(asset=femto_asset())
    # healthy for 150 s (> the model's 60 s reference), then the RMS grows 5x
    estimates = run(rul, 2 * 250, amplitude=lambda k: 1.0 if k < 300 else 5.0)
    assert estimates[10].evidence == "population_prior"
    last = estimates[-1]
    assert last.evidence == "condition_based" and last.valid and last.onset_s is not None
    assert 150.0 <= last.onset_s <= 200.0 and last.health_index < 0.5
    assert rul.status()["rul_onset_detected"]


def test_an_uncalibrated_model_is_never_valid():
    estimates = run(stage(calibrated=False), 60)
    assert estimates and not any(e.valid for e in estimates)
    assert {e.distribution.evidence for e in estimates} == {"not_calibrated"}


def test_without_an_asset_the_prior_never_ends():
    rul = stage(asset=None)
    estimates = run(rul, 2 * 250, amplitude=lambda k: 1.0 if k < 300 else 5.0)
    assert {e.evidence for e in estimates} == {"population_prior"}
    assert rul.status()["rul_onset_source"] == "none"


def test_missing_or_broken_accelerometer_gives_no_estimate_and_no_crash():
    rul = stage()
    assert rul.observe(AnalysisWindow(EPOCH_NS + NS_PER_S, WINDOW_S, {})) is None
    assert rul.observe(window(0, 1.0, valid=False)) is None  # a gap in the newest samples
    assert rul.observe(window(1, 1.0, channels=("z",))) is None  # channels absent
    assert rul.skipped == 2 and rul.latest is None
    slow = window(2, 1.0)
    stream = slow.streams[ACCEL]
    slow.streams[ACCEL] = StreamWindow(stream.samples[::12], FS / 12, stream.channel_names,
                                       stream.t_start_ns, stream.valid[::12])
    assert rul.observe(slow) is None  # 2.13 kHz: below the ISO band's 2222 Hz
    assert "Hz" in rul.status()["rul_last_refusal"]
    assert rul.observe(window(3, 1.0)) is not None  # the refused rate fixed nothing: goes on


def test_descriptor_entry(tmp_path: Path):
    model = tmp_path / "rul" / "model.json"
    model.parent.mkdir()
    small_prognosis().save(model)
    entry = {"kind": "prognosis", "model": "rul/model.json", "channels": ["x", "y"],
             "update_period_s": 1.0}
    built = prognosis_rul(entry, lambda p: tmp_path / p, "m/s^2")
    assert built.channels == ("x", "y") and built.estimator.asset is None
    assert built.estimator.config.update_period_s == 1.0
    assert not built.estimator.config.count_downtime
    downtime = prognosis_rul({**entry, "count_downtime": True}, lambda p: tmp_path / p, "g")
    assert downtime.estimator.config.count_downtime
    for bad, reason in (({**entry, "kind": "health_index"}, "kind"),
                        ({**entry, "colour": 1}, "unknown"),
                        ({**entry, "channels": ["x"]}, "channels"),
                        ({"kind": "prognosis"}, "model")):
        with pytest.raises(ValueError, match=reason):
            prognosis_rul(bad, lambda p: tmp_path / p, "m/s^2")


def test_the_shipped_rig_model_set_names_the_shipped_rig_rul_model():
    root = Path(__file__).resolve().parents[3]
    stages = json.loads((root / "models" / "rig_baseline" / "model_set.json").read_text())[
        "stages"]
    built = prognosis_rul(stages["rul"], lambda p: root / "models" / "rig_baseline" / p,
                          "m/s^2")
    model = built.estimator.model
    assert model.calibration.get("population_prior") and model.calibration.get(
        "condition_based"), "the shipped rig model must be calibrated before and after onset"
    assert built.estimator.asset is not None


def test_a_stage_keeping_its_state_goes_on_after_a_restart_and_reset_forgets_it(tmp_path):
    """The monitor's RUL stage under its reference_dir: restarted after the onset, the same
    estimates as without a stop; reset (new bearing) forgets state and onset reference."""
    def kept():
        rul = stage(asset=femto_asset())
        rul.keep_state(tmp_path / "refs", "m1")
        return rul

    amplitude = lambda k: 1.0 if k < 300 else 5.0  # noqa: E731
    whole = run(stage(asset=femto_asset()), 2 * 250, amplitude)
    first = kept()
    assert first.status()["rul_state"].startswith("new asset")
    windows = [window(k, amplitude(k)) for k in range(2 * 250)]
    before = [e for w in windows[:420] if (e := first.observe(w)) is not None]
    assert before[-1].evidence == "condition_based"  # stopped after the onset
    stopped_at = max(k for k in range(420) if windows[k].t_end_ns == before[-1].stamp_ns)
    second = kept()
    assert second.status()["rul_state"].startswith("restored")
    after = [e for w in windows[stopped_at + 1:] if (e := second.observe(w)) is not None]
    assert [(e.stamp_ns, e.evidence, e.valid) for e in before + after] == \
        [(e.stamp_ns, e.evidence, e.valid) for e in whole]
    for got, want in zip(before + after, whole, strict=True):
        assert got.elapsed_s == pytest.approx(want.elapsed_s, abs=1e-9)
        assert got.rul_s == pytest.approx(want.rul_s, rel=1e-9)
    files = sorted(p.relative_to(tmp_path / "refs").as_posix()
                   for p in (tmp_path / "refs").rglob("*.json"))
    assert files == ["monitor_rul_snapshots/m1.reference.json",
                     "monitor_rul_state/m1.rul_state.json"]
    second.reset()
    assert not list((tmp_path / "refs").rglob("*.json")) and second.latest is None
    assert second.status()["rul_state"] == "new asset (reset)"


def test_a_stage_restarted_with_a_refitted_model_keeps_the_asset_history(tmp_path):
    """The monitor updated with a refitted RUL model: its stage reads the stored state of the
    old one, keeps operating time and onset, and says so in its status (rul_state) and in
    the first estimates' note."""
    from dataclasses import replace

    amplitude = lambda k: 1.0 if k < 300 else 5.0  # noqa: E731
    windows = [window(k, amplitude(k)) for k in range(2 * 250)]
    first = stage(asset=femto_asset())
    first.keep_state(tmp_path / "refs", "m1")
    before = [e for w in windows[:420] if (e := first.observe(w)) is not None]
    assert before[-1].evidence == "condition_based"
    stopped_at = max(k for k in range(420) if windows[k].t_end_ns == before[-1].stamp_ns)
    old = first.estimator
    refit = replace(old.model, failure_levels=(1.6, 2.5))
    second = PrognosisRul(LiveRulEstimator(refit, old.config, old.asset), "m/s^2")
    second.keep_state(tmp_path / "refs", "m1")
    status = second.status()
    assert status["rul_state"].startswith("migrated") and "RUL model changed" in status[
        "rul_state"]
    after = [e for w in windows[stopped_at + 1:] if (e := second.observe(w)) is not None]
    assert after[0].onset_s == before[-1].onset_s and after[0].valid
    assert after[0].elapsed_s > before[-1].elapsed_s
    assert "damage recomputed by the new model" in after[0].note
