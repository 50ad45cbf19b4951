"""Training of the FEMTO RUL ensemble on cached snapshot inputs (one thread, seeded)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pm_monitor.training.rul_data import BearingInputs
from pm_monitor.training.rul_network.ensemble import (
    Calibration,
    RulEnsemble,
    SequenceConfig,
    sequence_positions,
)
from pm_monitor.training.rul_network.network import NetConfig, RulNet
from pm_monitor.training.rul_network.snapshot import SnapshotConfig
from pm_monitor.training.rul_split import check_disjoint, member_holdouts


@dataclass(frozen=True)
class TrainConfig:
    members: int = 3
    epochs: int = 4
    per_bearing: int = 60  # sequences drawn per training bearing and epoch (equal weight)
    batch: int = 16  # small batches: 4x the optimizer steps for the same compute
    lr: float = 2e-3
    weight_decay: float = 1e-4
    coverage: float = 0.8


def targets_of(bearing: BearingInputs, piecewise: np.ndarray, linear: np.ndarray) -> np.ndarray:
    return np.stack([piecewise, linear], axis=1).astype(np.float32)


def gather(bearing: BearingInputs, ends: np.ndarray, sequence: SequenceConfig
           ) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs (images, raw features) of the sequences ending at the given positions."""
    positions = sequence_positions(bearing.t_s, ends, sequence)
    return bearing.images[positions], bearing.features[positions]


def train_member(names: list[str], data: dict[str, BearingInputs],
                 targets: dict[str, np.ndarray], ensemble: RulEnsemble, cfg: TrainConfig,
                 seed: int, progress=None) -> RulNet:
    """One member on the named bearings; `ensemble` supplies normalisation and settings."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = RulNet(ensemble.net_config)
    optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = int(np.ceil(len(names) * cfg.per_bearing / cfg.batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=cfg.lr,
                                                   total_steps=cfg.epochs * steps_per_epoch)
    loss_fn = nn.MSELoss()
    for _ in range(cfg.epochs):
        net.train()
        images, features, labels = [], [], []
        for name in names:
            bearing = data[name]
            ends = rng.integers(0, bearing.n, size=cfg.per_bearing)
            img, feat = gather(bearing, ends, ensemble.sequence)
            images.append(img)
            features.append(feat)
            labels.append(targets[name][ends])
        images_np = np.concatenate(images)
        features_np = np.concatenate(features)
        labels_t = torch.from_numpy(np.concatenate(labels))
        order = rng.permutation(len(labels_t))
        for step in range(steps_per_epoch):
            pick = order[step * cfg.batch:(step + 1) * cfg.batch]
            if pick.size == 0:
                break
            x_img, x_feat = ensemble.tensors(images_np[pick], features_np[pick])
            loss = loss_fn(net(x_img, x_feat), labels_t[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        if progress is not None:
            progress.update(1)
    net.eval()
    return net


def predict_bearing(ensemble: RulEnsemble, bearing: BearingInputs,
                    members: list[RulNet] | None = None) -> np.ndarray:
    """(n_members, n, 2) predictions at every snapshot of the bearing."""
    ends = np.arange(bearing.n)
    images, features = gather(bearing, ends, ensemble.sequence)
    if members is None:
        return ensemble.member_outputs(images, features)
    sub = RulEnsemble(members, ensemble.feature_mean, ensemble.feature_std, ensemble.snapshot,
                      ensemble.sequence)
    return sub.member_outputs(images, features)


def train_ensemble(train: list[str], data: dict[str, BearingInputs],
                   targets: dict[str, np.ndarray], snapshot: SnapshotConfig,
                   sequence: SequenceConfig, net: NetConfig, cfg: TrainConfig, seed: int,
                   held_out: tuple[str, ...] = (), progress=None) -> RulEnsemble:
    """Members each leave out one group of `train`; OOB predictions fit the calibration."""
    if held_out:
        check_disjoint(train, held_out)
    stacked = np.concatenate([data[name].features for name in train])
    ensemble = RulEnsemble([RulNet(net)], stacked.mean(axis=0), stacked.std(axis=0),
                           snapshot, sequence)
    groups = member_holdouts(train, cfg.members, seed)
    members, oob_pred, oob_true = [], [], []
    for m, left_out in enumerate(groups):
        fit_on = [name for name in train if name not in left_out]
        member = train_member(fit_on, data, targets, ensemble, cfg, seed * 100 + m, progress)
        members.append(member)
        for name in left_out:
            oob_pred.append(predict_bearing(ensemble, data[name], [member])[0])
            oob_true.append(targets[name])
    calibration = Calibration.fit(np.concatenate(oob_pred), np.concatenate(oob_true),
                                  cfg.coverage)
    return RulEnsemble(members, ensemble.feature_mean, ensemble.feature_std, snapshot, sequence,
                       calibration, {"trained_on": list(train), "member_holdouts":
                                     [list(g) for g in groups], "seed": seed})
