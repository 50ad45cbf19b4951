"""Fusion ablation task on the simulated rig: sample assembly, run split, shipped model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.training.rig_dataset import RunData
from pm_monitor.training.run_plan import plan_runs
from pm_monitor.training.tasks import fusion_ablation as task

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "test/fixtures/fusion_shipped_rig_samples.npz"


def _fake_run(n: int, d: int, frame_every: int, state: int) -> RunData:
    rng = np.random.default_rng(state)
    frame_index = np.arange(0, n, frame_every)
    return RunData(spec=plan_runs("test", quick=True)[0], t_end_s=np.arange(1, n + 1) * 0.5,
                   features=rng.standard_normal((n, d)).astype(np.float32),
                   present=np.ones((n, d), bool), state=np.full(n, state),
                   fault_type=np.zeros(n, int), severity=np.zeros(n), rul_s=np.full(n, np.nan),
                   frame_index=frame_index,
                   frames=rng.standard_normal((frame_index.size, 120, 160)).astype(np.float16),
                   location=np.zeros(frame_index.size, int))


def test_samples_are_windows_with_a_frame_and_use_only_sensor_columns() -> None:
    columns = task.sensor_columns()
    d = int(columns.max()) + 4  # the thermal scalar features sit after the sensor columns
    runs = [_fake_run(20, d, 4, 0), _fake_run(12, d, 4, 2)]
    scaler = FeatureScaler(np.zeros(columns.size, np.float32), np.ones(columns.size, np.float32))
    data = task.fusion_set(runs, scaler, length=3)
    assert data.sequences.shape == (5 + 3, 3, columns.size)
    assert data.frames.shape == (8, 1, 30, 40)
    np.testing.assert_array_equal(data.run, [0] * 5 + [1] * 3)
    np.testing.assert_array_equal(data.state, [0] * 5 + [2] * 3)
    # the last step of each sequence is the window that carries the frame
    np.testing.assert_allclose(data.sequences[1, -1], runs[0].features[4, columns], rtol=1e-6)
    np.testing.assert_allclose(data.frames[0, 0, 0, 0],
                               runs[0].frames[0, :4, :4].astype(np.float32).mean(), rtol=1e-3)


def test_rig_splits_share_no_run_and_no_seed() -> None:
    splits = {s: plan_runs(s) for s in ("train", "val", "test")}
    seeds = [r.seed for runs in splits.values() for r in runs]
    names = [r.name for runs in splits.values() for r in runs]
    assert len(set(seeds)) == len(seeds) and len(set(names)) == len(names)


def test_shipped_fusion_model_reproduces_its_outputs_on_stored_rig_samples() -> None:
    stored = np.load(FIXTURE)
    model, meta = task.load_shipped(REPO / "models/fusion/full.pt")
    assert meta["hyperparameters"]["mode"] == "full"
    assert stored["sequences"].shape[2] == meta["hyperparameters"]["n_features"]
    data = task.FusionSet(stored["sequences"], stored["frames"].astype(np.float32),
                          stored["state"], np.zeros(len(stored["state"])),
                          np.zeros(len(stored["state"])))
    torch.set_num_threads(1)
    probs, gate = task.predict(model, data)
    np.testing.assert_allclose(probs, stored["probs"], atol=1e-4)
    np.testing.assert_allclose(gate, stored["gate"], atol=1e-4)
    _, gate_without_frame = task.predict(model, data, thermal_present=False)
    assert np.all(gate_without_frame == 0.0)


def test_gate_statistics_are_paper_000s_bias_of_the_thermal_branch():
    stats = task.gate_statistics(np.array([0.2, 0.4]), f1_thermal=0.5, f1_sensor=1.5)
    assert stats["g_star"] == pytest.approx(0.25)
    assert stats["gate_mean"] == pytest.approx(0.3)
    assert stats["bias"] == pytest.approx(0.05)
    assert stats["gate_std"] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        task.gate_statistics(np.array([0.5]), 0.0, 0.0)
