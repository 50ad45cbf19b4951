"""FEMTO health-state task: the labelling rule, leave-one-bearing-out, a tiny real overfit and
the shipped Stage 1 / anomaly models on stored real snapshots."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from pm_monitor.core.features.bearing_window import BearingWindowConfig, window_features
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.datasets import femto
from pm_monitor.datasets.paths import DataNotFoundError
from pm_monitor.training.cli import load_config
from pm_monitor.training.tasks import femto_states as task

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "pm_monitor/training/configs/femto_states.yaml")
FIXTURE = REPO / "test/fixtures/femto_shipped_snapshots.npz"


def test_life_fraction_rule() -> None:
    t = np.arange(101.0)  # end of life = last snapshot = 100 s
    states = task.health_states(t, (0.6, 0.8, 0.95))
    assert states[0] == 0 and states[59] == 0 and states[60] == 1 and states[79] == 1
    assert states[80] == 2 and states[94] == 2 and states[95] == 3 and states[100] == 3
    with pytest.raises(ValueError, match="increasing"):
        task.health_states(t, (0.8, 0.6, 0.95))
    with pytest.raises(ValueError, match="duration"):
        task.health_states(np.zeros(3), (0.6, 0.8, 0.95))


def test_leave_one_bearing_out_never_puts_a_bearing_on_two_sides() -> None:
    names = femto.ALL_BEARINGS
    tested = []
    for test in names:
        train, val, held_out = task.leave_one_out(names, test)
        assert held_out == test and val != test
        assert test not in train and val not in train
        assert len(train) == len(names) - 2
        tested.append(held_out)
    assert sorted(tested) == sorted(names)
    with pytest.raises(ValueError, match="unknown"):
        task.leave_one_out(names, "Bearing9_9")


def test_baseline_relative_features() -> None:
    x = np.arange(12.0).reshape(6, 2)
    rel = task.baseline_relative(x, 2)
    np.testing.assert_allclose(rel[:2].mean(axis=0), 0.0)
    with pytest.raises(ValueError):
        task.baseline_relative(x, 0)


def test_tiny_bilstm_overfits_a_small_real_slice() -> None:
    try:
        bearing = femto.load_bearing("Bearing3_3")
    except DataNotFoundError as err:
        pytest.skip(f"FEMTO data not available: {err}")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    fcfg = task.feature_config(CONFIG)
    rows = np.r_[0:40, bearing.n_snapshots - 40:bearing.n_snapshots]  # healthy start, failing end
    feats = window_features(bearing.acc_g[rows], bearing.fs, bearing.rpm / 60.0, fcfg)
    labels = torch.from_numpy(np.r_[np.zeros(40), np.full(40, 3)].astype(np.int64))
    scaler = FeatureScaler.fit(feats, np.ones_like(feats, dtype=bool))
    z = scaler.standardise(feats, np.ones_like(feats, dtype=bool))
    ends = [i for i in range(4, 80) if i < 40 or i >= 44]  # no sequence spans the two slices
    x = torch.from_numpy(np.stack([z[i - 4:i + 1] for i in ends]))
    y = labels[ends]
    model = HealthStateBiLSTM(x.shape[2], hidden_size=16, num_layers=1, attention_dim=8,
                              n_fault_types=1, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = F.cross_entropy(model(x).state_logits, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert (model(x).state_logits.argmax(1) == y).float().mean() == 1.0


def test_shipped_models_reproduce_their_outputs_on_stored_real_snapshots() -> None:
    stored = np.load(FIXTURE)
    models, meta = task.load_shipped(REPO / "models/femto_states")
    assert meta["test_bearing"] == str(stored["bearing"])
    assert meta["state_names"] == list(task.STATE_NAMES)
    fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
    snapshots = stored["snapshots_mg"].astype(np.float64) / 1000.0
    feats = window_features(snapshots, float(stored["fs"]), float(stored["rpm"]) / 60.0, fcfg)
    assert feats.shape[1] == len(meta["feature_names"])
    data = task.BearingFeatures(str(stored["bearing"]), np.arange(len(feats)) * 10.0,
                                (feats - stored["baseline"]).astype(np.float32),
                                np.full(len(feats), 3))
    out = task.predict_bearing(models, data, CONFIG)
    np.testing.assert_allclose(out["probs"], stored["probs"], atol=1e-4)
    np.testing.assert_allclose(out["score"], stored["score"], rtol=1e-3)
    # the end of the held-out bearing's life: the model says "not Normal"
    assert np.all(out["probs"][:, 0] < 0.5)
