"""The live Stage 1 of the real-data profile computes exactly what training computed: the same
features, baseline, sequences, state probabilities, anomaly scores and threshold verdicts for
the same FEMTO snapshots, from windows built by the monitor's window assembler."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata_windows import START_NS, accel_window, cascade, need_data, profile, window

from pm_monitor.core.features.bearing_window import window_features
from pm_monitor.core.sync.window_assembler import (
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)
from pm_monitor.core.types import ACCEL, HealthState
from pm_monitor.datasets import femto
from pm_monitor.replay import (
    ReplayConfig,
    Selection,
    SourceOptions,
    build_source,
    replay_messages,
)
from pm_monitor.training.cli import load_config
from pm_monitor.training.tasks import femto_states as task

REPO = Path(__file__).resolve().parents[3]
CONFIG = load_config(REPO / "pm_monitor/training/configs/femto_states.yaml")
FIXTURE = REPO / "test/fixtures/femto_shipped_snapshots.npz"


def assembled_windows(bearing: str, n: int, unit: str = "g") -> list:
    """n windows of a compress_gaps FEMTO replay through a 2-channel 0.1 s assembler."""
    source = build_source("femto", Selection(bearing=bearing),
                          SourceOptions(compress_gaps=True, accel_unit=unit))
    assembler = WindowAssembler(WindowAssemblerConfig(
        streams=(StreamSpec(ACCEL, 2, ("horizontal", "vertical")),), window_s=0.1, hop_s=0.1))
    out = []
    config = ReplayConfig(start_stamp_ns=START_NS, duration_s=(n + 1) * 0.1 + 0.05)
    for message in replay_messages([source], config):
        p = message.payload
        out += assembler.add_chunk(ACCEL, message.stamp_ns, p.sample_rate,
                                   p.first_sample_index, p.samples)
    return (out + assembler.flush())[:n]


def training_outputs(acc_g: np.ndarray, rpm: float) -> tuple[np.ndarray, dict]:
    """The training path (load_features + predict_bearing) on these snapshots."""
    models, _ = task.load_shipped(REPO / "models/femto_states")
    raw = window_features(acc_g, 25600.0, rpm / 60.0, task.feature_config(CONFIG))
    rel = task.baseline_relative(raw, int(CONFIG["baseline_snapshots"]))
    data = task.BearingFeatures("slice", np.arange(len(rel)) * 10.0, rel, np.zeros(len(rel)))
    return rel, task.predict_bearing(models, data, CONFIG)


def test_stored_end_of_life_snapshots_match_the_shipped_outputs() -> None:
    """No data needed: the last 10 snapshots of Bearing1_3 and their recorded outputs."""
    stored = np.load(FIXTURE)
    live = cascade()
    live.stage1.set_baseline(stored["baseline"])
    results = [live.process(window(k, accel_window(s.astype(np.float64) / 1000.0, k)))
               for k, s in enumerate(stored["snapshots_mg"])]
    probs = np.stack([r.state_probabilities for r in results])
    np.testing.assert_allclose(probs, stored["probs"], atol=1e-4)
    np.testing.assert_allclose([r.anomaly_score for r in results], stored["score"], rtol=1e-3)
    assert all(r.state != HealthState.NORMAL and r.anomalous for r in results)
    assert all(r.fault_type == "bearing_degradation" for r in results)


def test_assembled_windows_hold_the_snapshots_bit_for_bit() -> None:
    need_data()
    bearing = femto.load_bearing("Bearing1_3")
    windows = assembled_windows("Bearing1_3", 12)
    # the assembler's first grid point lies one window after the first sample: snapshot 0 is
    # never a whole window, window k holds snapshot k + 1
    for k, w in enumerate(windows):
        np.testing.assert_array_equal(w.streams[ACCEL].samples, bearing.acc_g[k + 1])


def test_live_stage1_equals_training_on_the_first_40_snapshots() -> None:
    need_data()
    bearing = femto.load_bearing("Bearing1_3")
    n = 40
    windows = assembled_windows("Bearing1_3", n)
    live = cascade()
    live_raw = [live.stage1.raw_features(w.streams[ACCEL]) for w in windows]
    results = [live.process(w) for w in windows]
    rel, out = training_outputs(bearing.acc_g[1:n + 1], bearing.rpm)
    np.testing.assert_array_equal(np.stack(live_raw), window_features(
        bearing.acc_g[1:n + 1], bearing.fs, bearing.rpm / 60.0, task.feature_config(CONFIG)))
    base = int(CONFIG["baseline_snapshots"])
    assert [r.commissioning for r in results[:base - 1]] == [(k, base) for k in range(1, base)]
    assert results[0].summary.startswith("commissioning baseline 1/30")
    assert all(r.state == HealthState.NORMAL and not r.anomalous and r.confidence == 0.0
               for r in results[:base - 1])
    decided = results[base - 1:]
    assert all(r.commissioning is None for r in decided)
    np.testing.assert_allclose(decided[-1].stage1_input[-1], profile().scaler.standardise(
        rel[-1], np.ones(rel.shape[1], bool)), atol=1e-6)
    np.testing.assert_allclose(np.stack([r.state_probabilities for r in decided]),
                               out["probs"][base - 1:], atol=1e-5)
    np.testing.assert_allclose([r.anomaly_score for r in decided], out["score"][base - 1:],
                               rtol=1e-5)
    np.testing.assert_allclose([r.anomaly_threshold for r in decided],
                               out["threshold"][base - 1:], rtol=1e-5)
    assert [r.anomalous for r in decided] == list(out["anomalous"][base - 1:])
    # early life of the held-out bearing: Normal, no alarm (the shipped fold's behaviour)
    assert all(r.state == HealthState.NORMAL and not r.anomalous for r in decided)


def test_late_life_of_the_held_out_bearing_is_flagged() -> None:
    need_data()
    bearing = femto.load_bearing("Bearing1_3")
    acc = bearing.acc_g
    live = cascade()
    for k in range(30):  # commissioning on the first snapshots
        live.process(window(k, accel_window(acc[k], k)))
    late = range(acc.shape[0] - 40, acc.shape[0])
    results = [live.process(window(30 + j, accel_window(acc[i], 30 + j)))
               for j, i in enumerate(late)]
    tail = results[-20:]  # the last ~2 % of life: Failure by the life-fraction rule
    assert np.mean([r.state != HealthState.NORMAL for r in tail]) >= 0.9
    assert np.mean([r.anomalous for r in tail]) >= 0.5
    assert all(r.fault_type == "bearing_degradation" for r in tail
               if r.state != HealthState.NORMAL)


@pytest.mark.parametrize("scale", [femto.G])
def test_baseline_relative_decisions_do_not_depend_on_the_accel_unit(scale: float) -> None:
    """m/s^2 instead of g scales every log amplitude by a constant the baseline removes."""
    stored = np.load(FIXTURE)
    snapshots = stored["snapshots_mg"].astype(np.float64) / 1000.0
    outputs = []
    for factor in (1.0, scale):
        live = cascade()
        for k in range(30):  # a baseline from the stored snapshots themselves, repeated
            live.process(window(k, accel_window(snapshots[k % 10] * factor, k)))
        outputs.append(live.process(window(30, accel_window(snapshots[-1] * factor, 30))))
    np.testing.assert_allclose(outputs[0].state_probabilities, outputs[1].state_probabilities,
                               atol=1e-4)
    np.testing.assert_allclose(outputs[0].stage1_input, outputs[1].stage1_input, atol=1e-3)
