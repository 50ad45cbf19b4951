"""The deployable RUL model: ensemble members, input normalisation, calibrated interval.

Interval: each member is trained without one group of the training bearings, so every
training bearing gets out-of-bag (OOB) predictions. Residuals r = truth - prediction of those
OOB predictions, binned by predicted value, give per-bin quantiles; the interval around a new
prediction p is [p + q_low(bin(p)), p + q_high(bin(p))], clipped to [0, 1]. Nothing of the
held-out bearing is used (split-conformal on training bearings only).

File format: one ``torch.save`` dict of tensors / numbers / strings / lists, read with
``torch.load(weights_only=True)``; anything missing, corrupt or mismatched raises
RulModelError naming the file.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pm_monitor.training.rul_network.network import OUTPUT_NAMES, NetConfig, RulNet
from pm_monitor.training.rul_network.snapshot import N_FEATURES, SnapshotConfig

FORMAT = "pm_monitor.rul_femto/1"
BIN_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_BIN_POINTS = 30


class RulModelError(RuntimeError):
    """The RUL model file is missing, corrupt or does not match this code."""


@dataclass(frozen=True)
class SequenceConfig:
    """Which past snapshots form one model input: `steps` of them, `spacing_s` apart, the
    newest last (the one nearest at or before each target time; the first one repeats
    while the history is shorter)."""

    steps: int = 6
    spacing_s: float = 30.0


@dataclass
class Calibration:
    """Per output: residual quantiles (low, high) per predicted-value bin."""

    coverage: float = 0.8
    bins: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @staticmethod
    def fit(predicted: np.ndarray, truth: np.ndarray, coverage: float = 0.8) -> Calibration:
        """predicted, truth: (n, n_outputs) OOB predictions and their targets."""
        tail = (1.0 - coverage) / 2.0
        bins: dict[str, list[tuple[float, float]]] = {}
        for k, name in enumerate(OUTPUT_NAMES):
            residual = truth[:, k] - predicted[:, k]
            overall = tuple(float(q) for q in np.quantile(residual, [tail, 1.0 - tail]))
            per_bin = []
            for low, high in itertools.pairwise(BIN_EDGES):
                inside = (predicted[:, k] >= low) & (predicted[:, k] <= high)
                if inside.sum() >= MIN_BIN_POINTS:
                    per_bin.append(tuple(float(q) for q in
                                         np.quantile(residual[inside], [tail, 1.0 - tail])))
                else:
                    per_bin.append(overall)
            bins[name] = per_bin
        return Calibration(coverage, bins)

    def interval(self, predicted: np.ndarray, output: str) -> tuple[np.ndarray, np.ndarray]:
        predicted = np.asarray(predicted, dtype=float)
        quantiles = np.asarray(self.bins[output])  # (n_bins, 2)
        index = np.clip(np.searchsorted(BIN_EDGES, predicted, side="right") - 1, 0,
                        len(quantiles) - 1)
        lower = np.clip(predicted + quantiles[index, 0], 0.0, 1.0)
        upper = np.clip(predicted + quantiles[index, 1], 0.0, 1.0)
        return np.minimum(lower, predicted), np.maximum(upper, predicted)


@dataclass
class RulPrediction:
    """Normalised RUL per output name: ensemble mean, member spread, calibrated interval."""

    mean: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]
    lower: dict[str, np.ndarray]
    upper: dict[str, np.ndarray]


class RulEnsemble:
    def __init__(self, members: list[RulNet], feature_mean: np.ndarray,
                 feature_std: np.ndarray, snapshot: SnapshotConfig, sequence: SequenceConfig,
                 calibration: Calibration | None = None, info: dict | None = None) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = members
        self.feature_mean = np.asarray(feature_mean, dtype=np.float32)
        self.feature_std = np.maximum(np.asarray(feature_std, dtype=np.float32), 1e-6)
        self.snapshot = snapshot
        self.sequence = sequence
        self.calibration = calibration or Calibration()
        self.info = dict(info or {})
        self.runners: list | None = None  # backend runners of the members (accelerate.py)
        for member in members:
            member.eval()

    def use_runners(self, runners: list) -> None:
        """Run the members through these backend runners (one per member, same order;
        each maps {"images", "features"} -> {"rul_normalised"}); torch stays the reference."""
        if len(runners) != len(self.members):
            raise ValueError(f"{len(runners)} runners for {len(self.members)} members")
        self.runners = list(runners)

    @property
    def net_config(self) -> NetConfig:
        return self.members[0].cfg

    def tensors(self, images: np.ndarray, features: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, levels, width) uint8 + (B, T, 7) raw features -> network inputs."""
        normalised = (np.asarray(features, dtype=np.float32) - self.feature_mean) / self.feature_std
        return (torch.from_numpy(np.asarray(images, dtype=np.float32)),
                torch.from_numpy(normalised.astype(np.float32)))

    @torch.no_grad()
    def member_outputs(self, images: np.ndarray, features: np.ndarray,
                       batch: int = 256) -> np.ndarray:
        """(n_members, B, n_outputs) predictions."""
        outs = []
        if self.runners is not None:
            batch = min(batch, 64)  # the exported graphs' batch profile (accelerate.py)
        for index, member in enumerate(self.members):
            parts = []
            for start in range(0, len(images), batch):
                x_img, x_feat = self.tensors(images[start:start + batch],
                                             features[start:start + batch])
                if self.runners is None:
                    parts.append(member(x_img, x_feat).numpy())
                else:
                    out = self.runners[index].run({"images": x_img.numpy(),
                                                   "features": x_feat.numpy()})
                    parts.append(out["rul_normalised"])
            outs.append(np.concatenate(parts) if parts else np.zeros((0, len(OUTPUT_NAMES))))
        return np.stack(outs)

    def predict(self, images: np.ndarray, features: np.ndarray) -> RulPrediction:
        outs = self.member_outputs(images, features)
        mean = outs.mean(axis=0)
        result = RulPrediction({}, {}, {}, {})
        for k, name in enumerate(OUTPUT_NAMES):
            result.mean[name] = mean[:, k]
            result.spread[name] = outs[:, :, k].std(axis=0)
            lower, upper = self.calibration.interval(mean[:, k], name)
            result.lower[name], result.upper[name] = lower, upper
        return result

    # ------------------------------------------------------------------ file
    def save(self, path: Path) -> None:
        payload = {
            "format": FORMAT,
            "net_config": _plain(self.net_config.to_dict()),
            "snapshot_config": _plain(self.snapshot.to_dict()),
            "sequence": {"steps": self.sequence.steps, "spacing_s": self.sequence.spacing_s},
            "feature_mean": torch.from_numpy(self.feature_mean.copy()),
            "feature_std": torch.from_numpy(self.feature_std.copy()),
            "calibration": {"coverage": self.calibration.coverage,
                            "bins": {k: [list(b) for b in v]
                                     for k, v in self.calibration.bins.items()}},
            "members": [member.state_dict() for member in self.members],
            "info": _plain(self.info),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(payload, path)

    @staticmethod
    def load(path: Path | str) -> RulEnsemble:
        path = Path(path)
        if not path.is_file():
            raise RulModelError(f"RUL model file {path} not found")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types for a corrupt file
            raise RulModelError(f"RUL model file {path} is not a readable torch file: "
                                f"{err}") from err
        try:
            return RulEnsemble._from_payload(payload)
        except RulModelError as err:
            raise RulModelError(f"RUL model file {path}: {err}") from err
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise RulModelError(f"RUL model file {path} does not match this code: "
                                f"{type(err).__name__}: {err}") from err

    @staticmethod
    def _from_payload(payload: dict) -> RulEnsemble:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            found = payload.get("format") if isinstance(payload, dict) else type(payload)
            raise RulModelError(f"format is {found!r}, expected {FORMAT!r}")
        cfg = NetConfig.from_dict(payload["net_config"])
        snapshot = SnapshotConfig.from_dict(payload["snapshot_config"])
        sequence = SequenceConfig(**payload["sequence"])
        if cfg.n_features != N_FEATURES or cfg.image_width != snapshot.image_width \
                or cfg.levels != snapshot.levels or cfg.steps != sequence.steps:
            raise RulModelError("network, snapshot and sequence settings disagree")
        members = []
        for state in payload["members"]:
            member = RulNet(cfg)
            member.load_state_dict(state)  # strict: a missing/extra tensor raises
            members.append(member)
        calib = payload["calibration"]
        calibration = Calibration(float(calib["coverage"]),
                                  {k: [tuple(b) for b in v] for k, v in calib["bins"].items()})
        if set(calibration.bins) != set(OUTPUT_NAMES):
            raise RulModelError(f"calibration outputs {sorted(calibration.bins)} != "
                                f"{sorted(OUTPUT_NAMES)}")
        mean = payload["feature_mean"].numpy()
        std = payload["feature_std"].numpy()
        if mean.shape != (N_FEATURES,) or std.shape != (N_FEATURES,):
            raise RulModelError("feature normalisation has the wrong shape")
        return RulEnsemble(members, mean, std, snapshot, sequence, calibration,
                           payload.get("info", {}))


def _plain(value):
    """Tuples -> lists, numpy scalars -> Python: what weights_only loading accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def sequence_positions(t_s: np.ndarray, end: np.ndarray | int, sequence: SequenceConfig
                       ) -> np.ndarray:
    """Snapshot positions (…, steps) of the inputs ending at position(s) `end`: for step k
    (oldest first) the last snapshot at or before t[end] - (steps - 1 - k) * spacing_s."""
    t_s = np.asarray(t_s, dtype=float)
    end = np.asarray(end)
    offsets = (np.arange(sequence.steps)[::-1] * sequence.spacing_s)
    wanted = t_s[end][..., None] - offsets
    positions = np.searchsorted(t_s, wanted + 1e-6, side="right") - 1
    return np.clip(positions, 0, None)
