"""CWRU cross-load task: split leakage, a tiny real overfit, shipped models on stored windows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.features.bearing_window import BearingWindowConfig, window_features
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.datasets import cwru
from pm_monitor.datasets.paths import DataNotFoundError
from pm_monitor.training.cli import load_config
from pm_monitor.training.loop import FitConfig
from pm_monitor.training.tasks import cwru as task

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "pm_monitor/training/configs/cwru.yaml")
FIXTURE = REPO / "test/fixtures/cwru_shipped_windows.npz"


def _records_or_skip() -> list[cwru.CwruRecord]:
    try:
        return cwru.list_records()
    except DataNotFoundError as err:
        pytest.skip(f"CWRU data not available: {err}")


@pytest.fixture(scope="module")
def small_windows(tmp_path_factory: pytest.TempPathFactory) -> list[task.RecordWindows]:
    """Three classes (NORMAL, IR007, OR007@6) at all loads: 11 records (no NORMAL at 2 HP)."""
    records = [r for r in _records_or_skip() if r.label in ("NORMAL", "IR007", "OR007@6")]
    return task.load_windows(CONFIG, tmp_path_factory.mktemp("cache"), records)


def test_cross_load_split_never_shares_a_record_or_overlapping_windows(small_windows) -> None:
    window, hop = int(CONFIG["window"]), int(CONFIG["test_hop"])
    _, _, record_of_row = task.stacked(small_windows)
    starts = np.concatenate([r.starts for r in small_windows])
    load_of_row = np.concatenate([np.full(r.starts.size, r.load_hp) for r in small_windows])
    for load in task.LOADS:
        split = task.cross_load_split(small_windows, load, window, hop, 0.2)
        train_records = set(record_of_row[split.train]) | set(record_of_row[split.val])
        assert train_records.isdisjoint(record_of_row[split.test])
        assert np.all(load_of_row[split.test] == load)
        assert not np.any(load_of_row[np.concatenate([split.train, split.val])] == load)
        for record in set(record_of_row[split.train]):
            train_starts = starts[split.train][record_of_row[split.train] == record]
            val_starts = starts[split.val][record_of_row[split.val] == record]
            # a gap of at least one window between the last training and first validation window
            assert train_starts.max() + 2 * window <= val_starts.min()
        test_starts = np.sort(starts[split.test][record_of_row[split.test] == record_of_row[
            split.test][0]])
        assert np.all(np.diff(test_starts) >= window)  # test windows never overlap
    with pytest.raises(ValueError, match="test_load"):
        task.cross_load_split(small_windows, 5, window, hop, 0.2)


def test_two_hp_fold_has_no_normal_test_windows(small_windows) -> None:
    _, labels, _ = task.stacked(small_windows)
    split = task.cross_load_split(small_windows, 2, int(CONFIG["window"]),
                                  int(CONFIG["test_hop"]), 0.2)
    assert 0 not in set(labels[split.test]) and 0 in set(labels[split.train])


def test_tiny_training_run_overfits_a_small_real_slice(small_windows) -> None:
    torch.set_num_threads(1)
    features, labels, _ = task.stacked(small_windows)
    split = task.cross_load_split(small_windows, 3, int(CONFIG["window"]),
                                  int(CONFIG["test_hop"]), 0.2)
    rows = split.train[::8]  # ~120 real windows
    small = task.Split(3, rows, rows, rows)
    remap = {c: i for i, c in enumerate(sorted(set(labels)))}
    y = np.array([remap[c] for c in labels])
    model, scaler, history = task.train_fold(
        features, y, small, len(remap), {"hidden_size": 32, "dropout": 0.0},
        FitConfig(epochs=80, batch_size=32, lr=3e-3, patience=80, max_seconds=60))
    predicted = task.predict(model, scaler, features[rows]).argmax(1)
    assert np.mean(predicted == y[rows]) == 1.0
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]


def test_shipped_fold_model_reproduces_its_predictions_on_stored_real_windows() -> None:
    stored = np.load(FIXTURE)
    load = int(stored["test_load_hp"])
    model, scaler, meta = task.load_shipped(REPO / f"models/cwru/fold_test{load}hp.pt")
    assert meta["test_load_hp"] == load and meta["window"] == stored["windows"].shape[1]
    fcfg = BearingWindowConfig.from_dict(meta["feature_config"])
    feats = window_features(stored["windows"][:, :, None].astype(np.float64),
                            cwru.RATE_12K_HZ, stored["rpm"] / 60.0, fcfg)
    assert feats.shape[1] == len(meta["feature_names"]) == meta["hyperparameters"]["n_features"]
    predicted = task.predict(model, scaler, feats).argmax(1)
    np.testing.assert_array_equal(predicted, stored["predicted"])
    # held-out windows of the fold: as good as the accuracy its metadata records
    assert np.mean(predicted == stored["label_id"]) >= meta["metrics"]["accuracy"] - 0.1
    assert sorted(stored["label_id"].tolist()) == list(range(len(meta["class_names"])))


def test_a_corrupt_shipped_file_is_a_clear_error(tmp_path: Path) -> None:
    source = REPO / "models/cwru/fold_test0hp.pt"
    bad = tmp_path / "fold_test0hp.pt"
    bad.write_bytes(source.read_bytes()[:100])
    (tmp_path / "fold_test0hp.json").write_text(source.with_suffix(".json").read_text())
    with pytest.raises(ModelLoadError, match=r"fold_test0hp\.pt"):
        task.load_shipped(bad)
