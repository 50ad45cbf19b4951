"""Splits by bearing: every bearing held out exactly once, no bearing on both sides, and the
training code never reads the held-out bearing (checked with a spying data dict)."""
from __future__ import annotations

import pytest
from rul_fakes import fake_bearing

from pm_monitor.datasets.femto import ALL_BEARINGS
from pm_monitor.training.rul_network.ensemble import SequenceConfig
from pm_monitor.training.rul_network.network import NetConfig
from pm_monitor.training.rul_network.snapshot import SnapshotConfig
from pm_monitor.training.rul_split import (
    Fold,
    LeakageError,
    leave_one_bearing_out,
    member_holdouts,
)
from pm_monitor.training.rul_train import TrainConfig, train_ensemble


def test_lobo_holds_out_each_bearing_once_and_never_trains_on_it():
    folds = leave_one_bearing_out(ALL_BEARINGS)
    assert sorted(f.test[0] for f in folds) == sorted(ALL_BEARINGS)
    for fold in folds:
        assert fold.test[0] not in fold.train
        assert set(fold.train) | set(fold.test) == set(ALL_BEARINGS)


def test_overlapping_fold_is_refused():
    with pytest.raises(LeakageError, match="Bearing1_1"):
        Fold("bad", ("Bearing1_1", "Bearing1_2"), ("Bearing1_1",))


def test_member_holdouts_partition_the_training_bearings():
    train = [n for n in ALL_BEARINGS if n != "Bearing1_3"]
    groups = member_holdouts(train, 3, seed=0)
    flat = [n for g in groups for n in g]
    assert sorted(flat) == sorted(train) and len(flat) == len(set(flat))
    assert groups == member_holdouts(train, 3, seed=0)  # seeded


class SpyDict(dict):
    """Records every bearing the training code looks up."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_training_reads_only_training_bearings():
    names = ["A", "B", "C", "D"]
    data = SpyDict({n: fake_bearing(n, seed=i) for i, n in enumerate(names)})
    targets = SpyDict({n: data[n].features[:, :2] * 0 + 0.5 for n in names})
    data.read.clear()
    targets.read.clear()
    ensemble = train_ensemble(["A", "B", "C"], data, targets, SnapshotConfig(),
                              SequenceConfig(), NetConfig(),
                              TrainConfig(members=2, epochs=1, per_bearing=4), seed=0,
                              held_out=("D",))
    assert "D" not in data.read and "D" not in targets.read
    assert sorted(ensemble.info["trained_on"]) == ["A", "B", "C"]
    with pytest.raises(LeakageError):
        train_ensemble(["A", "B", "C"], data, targets, SnapshotConfig(), SequenceConfig(),
                       NetConfig(), TrainConfig(members=2, epochs=1, per_bearing=4), seed=0,
                       held_out=("C",))
