"""Counterfactual for Stage 1: which feature, changed how far, returns the decision to Normal.

Gradient-guided, constrained, minimal, on the standardised Stage 1 input (T, D):

1. The margin m(x) = logit(target) - max other logit is > 0 exactly when the target wins.
   Its gradient, summed over the T steps, says which way each feature pushes towards the target.
2. A change moves one feature by the same offset at every step (the sensor "had read this much
   lower all along"), only towards the target, and never past the healthy range of that feature
   (from the HealthyBackground, widened by a margin; without a background +-bound_z around the
   training mean). Features absent in the whole sequence (imputed zeros) are never changed.
3. Candidates are ranked by |gradient| x room to the bound (the first-order gain); each is moved
   to its bound in one batched forward pass. If some reach the target, a batched bisection finds
   each one's smallest sufficient offset and the smallest change wins (reported value verified
   by a forward pass). If none does, the best one is kept and the next feature is added
   (greedy, at most max_features), and "not reached" is reported honestly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.attribution import LogitsOf, default_logits
from pm_monitor.core.explain.units import PhysicalValue, to_physical


@dataclass(frozen=True)
class CounterfactualConfig:
    target_state: int = 0  # HealthState.NORMAL
    max_features: int = 2
    candidates: int = 8
    bisection_steps: int = 12
    healthy_margin_z: float = 0.5  # widen the healthy range by this many training stds
    bound_z: float = 3.0  # without a background: allowed range is +-bound_z around the mean


@dataclass(frozen=True)
class FeatureChange:
    feature: str
    current: PhysicalValue  # at the latest step
    needed: PhysicalValue
    current_z: float
    needed_z: float

    def __str__(self) -> str:
        return f"{self.feature} from {self.current} to {self.needed}"


@dataclass(frozen=True)
class Counterfactual:
    reached_target: bool
    target_label: str
    changes: tuple[FeatureChange, ...]
    p_target_before: float
    p_target_after: float

    @property
    def summary(self) -> str:
        if not self.changes:
            return f"already {self.target_label}" if self.reached_target else "no feasible change"
        what = " and ".join(str(c) for c in self.changes)
        if self.reached_target:
            return (f"{self.target_label} if {what} "
                    f"(p {self.p_target_before:.0%} -> {self.p_target_after:.0%})")
        return (f"{self.target_label} not reached within the healthy range: best is {what} "
                f"(p {self.p_target_before:.0%} -> {self.p_target_after:.0%})")


class CounterfactualSearch:
    """Reusable for one model: search(sequence) -> Counterfactual."""

    def __init__(
        self,
        model: nn.Module,
        feature_names: tuple[str, ...],
        mean: np.ndarray,
        std: np.ndarray,
        target_label: str = "normal",
        config: CounterfactualConfig | None = None,
        logits_of: LogitsOf = default_logits,
    ) -> None:
        self.model = model
        self.feature_names = feature_names
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        if self.mean.shape != (len(feature_names),) or self.std.shape != self.mean.shape:
            raise ValueError("mean and std must have one value per feature")
        self.target_label = target_label
        self.config = config or CounterfactualConfig()
        self.logits_of = logits_of

    def search(self, sequence: np.ndarray,
               bounds: tuple[np.ndarray, np.ndarray] | None = None) -> Counterfactual:
        """bounds: per-feature (low, high) standardised healthy range, e.g.
        HealthyBackground.bounds(); None = +-bound_z around the training mean."""
        cfg = self.config
        x = np.asarray(sequence, np.float32).copy()
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(f"expected a (T, {len(self.feature_names)}) sequence, "
                             f"got {x.shape}")
        low, high = bounds if bounds is not None else (
            np.full(x.shape[1], -cfg.bound_z, np.float32),
            np.full(x.shape[1], cfg.bound_z, np.float32))
        low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
        measured = np.any(x != 0.0, axis=0)
        p_before = self._probability(x[None])[0]
        if self._margin(x[None])[0] > 0:
            return Counterfactual(True, self.target_label, (), p_before, p_before)
        start = x.copy()
        changed: list[int] = []
        reached = False
        for _ in range(cfg.max_features):
            offsets = self._candidate_offsets(x, low, high, measured, changed)
            if not offsets:
                break
            features = list(offsets)
            full = np.stack([_shifted(x, d, offsets[d]) for d in features])
            margins = self._margin(full)
            winners = [i for i, m in enumerate(margins) if m > 0]
            if winners:
                scales = self._bisect(x, [features[i] for i in winners],
                                      [offsets[features[i]] for i in winners])
                best = min(range(len(winners)),
                           key=lambda k: abs(scales[k] * offsets[features[winners[k]]]))
                feature = features[winners[best]]
                x = _shifted(x, feature, scales[best] * offsets[feature])
                changed.append(feature)
                reached = True
                break
            best = int(np.argmax(margins))
            x = full[best]
            changed.append(features[best])
        changes = tuple(self._change(start, x, d) for d in changed)
        return Counterfactual(reached, self.target_label, changes, p_before,
                              self._probability(x[None])[0])

    # --- steps ---------------------------------------------------------------------------
    def _candidate_offsets(self, x: np.ndarray, low: np.ndarray, high: np.ndarray,
                           measured: np.ndarray, changed: list[int]) -> dict[int, float]:
        """feature -> offset to its bound in the direction the gradient favours, for the
        `candidates` features with the largest first-order gain."""
        gradient = self._margin_gradient(x).sum(axis=0)
        latest = x[-1]
        offsets: dict[int, float] = {}
        gains: dict[int, float] = {}
        for d in range(x.shape[1]):
            if d in changed or not measured[d] or gradient[d] == 0.0:
                continue
            offset = (high[d] if gradient[d] > 0 else low[d]) - latest[d]
            if offset * gradient[d] <= 0.0:  # already past the bound on the helpful side
                continue
            offsets[d] = float(offset)
            gains[d] = float(abs(gradient[d] * offset))
        ranked = sorted(gains, key=gains.__getitem__, reverse=True)[: self.config.candidates]
        return {d: offsets[d] for d in ranked}

    def _bisect(self, x: np.ndarray, features: list[int], offsets: list[float]) -> list[float]:
        """Smallest fraction s in (0, 1] of each offset that still reaches the target (all
        features bisected together in one batch per step); s = 1 is known to reach it."""
        lo = np.zeros(len(features))
        hi = np.ones(len(features))
        for _ in range(self.config.bisection_steps):
            mid = (lo + hi) / 2.0
            trial = np.stack([_shifted(x, d, m * o) for d, m, o in zip(features, mid, offsets,
                                                                     strict=True)])
            ok = self._margin(trial) > 0
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi.tolist()

    def _change(self, start: np.ndarray, end: np.ndarray, d: int) -> FeatureChange:
        name = self.feature_names[d]
        before, after = float(start[-1, d]), float(end[-1, d])
        mean, std = float(self.mean[d]), float(self.std[d])
        return FeatureChange(name, to_physical(name, before * std + mean),
                             to_physical(name, after * std + mean), before, after)

    # --- model ---------------------------------------------------------------------------
    def _logits(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        if not isinstance(batch, torch.Tensor):
            batch = torch.from_numpy(np.ascontiguousarray(batch))
        return self.logits_of(self.model(batch))

    def _margin(self, batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return _target_margin(self._logits(batch), self.config.target_state).numpy()

    def _probability(self, batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            probabilities = torch.softmax(self._logits(batch), dim=-1)
        return probabilities[:, self.config.target_state].numpy().astype(float)

    def _margin_gradient(self, x: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(x[None].copy()).requires_grad_(True)
        with torch.enable_grad():
            margin = _target_margin(self._logits(inputs), self.config.target_state)[0]
            (gradient,) = torch.autograd.grad(margin, inputs)
        return gradient[0].numpy()


def _target_margin(logits: torch.Tensor, target: int) -> torch.Tensor:
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - others.max(dim=1).values


def _shifted(x: np.ndarray, feature: int, offset: float) -> np.ndarray:
    out = x.copy()
    out[:, feature] += np.float32(offset)
    return out
