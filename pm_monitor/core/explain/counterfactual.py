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
4. Once reached (refine), features the greedy steps moved fully but that are not needed are
   reverted, and the others shrunk to their smallest sufficient fraction.
5. move="sensor" does the same with all features of one sensor as the unit ("accel_x read within
   its healthy range"); move="auto" (the default) asks that coarser question only when
   max_features single features do not reach the target. A failing bearing raises many
   features at once, so a few features rarely suffice past pre_warning.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.attribution import LogitsOf, default_logits
from pm_monitor.core.explain.feature_units import PhysicalValue, UnitReader, to_physical

MOVES = ("feature", "sensor", "auto")
GRID = 16  # fractions tried per level when shrinking a change (two levels: 1/256)
SUMMARY_CHANGES = 3  # changes named in a sensor-level summary; all are in `changes`


@dataclass(frozen=True)
class CounterfactualConfig:
    target_state: int = 0  # HealthState.NORMAL
    # Defaults chosen on validation rig runs (evaluation/counterfactual_eval.py): reach
    # rate 27 % -> 60 % of not-Normal windows, held-out test 28 % -> 60 %.
    max_features: int = 4  # features changed at most (greedy)
    candidates: int = 8  # units (features or sensors) tried per greedy step
    # "feature": one feature at a time; "sensor": all features of one sensor at a time;
    # "auto": features first, whole sensors only when max_features features do not reach it
    move: str = "auto"
    max_sensors: int = 2  # sensors changed at most (greedy)
    refine: bool = True  # once reached: revert unneeded features, shrink the others
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
    sensors: tuple[str, ...] = ()  # move="sensor": the sensors moved into their healthy range

    @property
    def summary(self) -> str:
        if not self.changes:
            return f"already {self.target_label}" if self.reached_target else "no feasible change"
        what = " and ".join(str(c) for c in self.changes)
        if self.sensors:  # many features: name the sensors, then the largest changes
            largest = sorted(self.changes, key=lambda c: abs(c.needed_z - c.current_z),
                             reverse=True)
            named = ", ".join(str(c) for c in largest[:SUMMARY_CHANGES])
            more = len(largest) - SUMMARY_CHANGES
            what = (f"{' and '.join(self.sensors)} read within the healthy range (largest: "
                    f"{named}{f', +{more} more' if more > 0 else ''})")
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
        units: UnitReader = to_physical,
    ) -> None:
        """units: feature value -> physical value for the report (to_relative for features
        taken relative to a commissioning baseline)."""
        self.model = model
        self.units = units
        self.feature_names = feature_names
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        if self.mean.shape != (len(feature_names),) or self.std.shape != self.mean.shape:
            raise ValueError("mean and std must have one value per feature")
        self.target_label = target_label
        self.config = config or CounterfactualConfig()
        if self.config.move not in MOVES:
            raise ValueError(f"CounterfactualConfig.move must be one of {MOVES}, "
                             f"got {self.config.move!r}")
        self.logits_of = logits_of
        # The units of change: one feature, or every feature of one sensor ("<sensor>.<name>").
        sensors = list(dict.fromkeys(n.partition(".")[0] for n in feature_names))
        self._units = {
            "feature": [(n, np.array([d])) for d, n in enumerate(feature_names)],
            "sensor": [(s, np.array([d for d, n in enumerate(feature_names)
                                     if n.partition(".")[0] == s])) for s in sensors],
        }

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
        if cfg.move == "sensor":
            return self._greedy(x, low, high, measured, "sensor", cfg.max_sensors, p_before)
        result = self._greedy(x, low, high, measured, "feature", cfg.max_features, p_before)
        if cfg.move == "auto" and not result.reached_target:
            # a few features are not enough: ask the coarser question, whole sensors
            by_sensor = self._greedy(x, low, high, measured, "sensor", cfg.max_sensors, p_before)
            if by_sensor.reached_target:
                return by_sensor
        return result

    def _greedy(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, measured: np.ndarray,
                move: str, max_units: int, p_before: float) -> Counterfactual:
        units = self._units[move]
        start = x.copy()
        changed: list[int] = []  # indices into units
        reached = False
        for _ in range(max_units):
            offsets = self._candidate_offsets(x, low, high, measured, units, changed)
            if not offsets:
                break
            tried = list(offsets)
            full = np.stack([x + offsets[u] for u in tried])
            margins = self._margin(full)
            winners = [i for i, m in enumerate(margins) if m > 0]
            if winners:
                moves = [offsets[tried[i]] for i in winners]
                scales = self._bisect(x, moves)
                best = min(range(len(winners)),
                           key=lambda k: scales[k] * float(np.abs(moves[k]).sum()))
                x = x + np.float32(scales[best]) * moves[best]
                changed.append(tried[winners[best]])
                reached = True
                if self.config.refine:
                    x = self._refine(start, x, [int(d) for u in changed for d in units[u][1]])
                break
            best = int(np.argmax(margins))
            x = full[best]
            changed.append(tried[best])
        moved = [int(d) for u in changed for d in units[u][1] if x[-1, d] != start[-1, d]]
        changes = tuple(self._change(start, x, d) for d in moved)
        sensors = tuple(dict.fromkeys(self.feature_names[d].partition(".")[0] for d in moved)
                        ) if move == "sensor" else ()
        return Counterfactual(reached, self.target_label, changes, p_before,
                              self._probability(x[None])[0], sensors)

    # --- steps ---------------------------------------------------------------------------
    def _candidate_offsets(self, x: np.ndarray, low: np.ndarray, high: np.ndarray,
                           measured: np.ndarray, units: list[tuple[str, np.ndarray]],
                           changed: list[int]) -> dict[int, np.ndarray]:
        """unit -> (1, D) offset moving each of its features to its bound in the direction the
        gradient favours (0 where that does not help or the feature is absent), for the
        `candidates` units with the largest first-order gain."""
        gradient = self._margin_gradient(x).sum(axis=0)
        target = np.where(gradient > 0, high, low)
        step = target - x[-1]
        # already past the bound on the helpful side, no gradient, or absent: not moved
        helpful = (step * gradient > 0.0) & measured
        step = np.where(helpful, step, 0.0).astype(np.float32)
        offsets: dict[int, np.ndarray] = {}
        gains: dict[int, float] = {}
        for u, (_, features) in enumerate(units):
            if u in changed or not helpful[features].any():
                continue
            offset = np.zeros((1, x.shape[1]), np.float32)
            offset[0, features] = step[features]
            offsets[u] = offset
            gains[u] = float(np.abs(gradient[features] * step[features]).sum())
        ranked = sorted(gains, key=gains.__getitem__, reverse=True)[: self.config.candidates]
        return {u: offsets[u] for u in ranked}

    def _refine(self, start: np.ndarray, x: np.ndarray, features: list[int]) -> np.ndarray:
        """The greedy steps keep earlier units at their full move; once the target is reached,
        undo what is not needed: revert each changed feature that is not needed (smallest change
        first), then shrink each remaining one to its smallest sufficient fraction (largest
        first). Every accepted step keeps the target, so the result still reaches it."""
        offset = x[-1] - start[-1]  # a change is the same offset at every step
        moved = [d for d in features if offset[d] != 0.0]
        for d in sorted(moved, key=lambda d: abs(offset[d])):
            trial = x.copy()
            trial[:, d] = start[:, d]
            if self._margin(trial[None])[0] > 0:
                x = trial
        for d in sorted(moved, key=lambda d: -abs(offset[d])):
            if x[-1, d] == start[-1, d]:
                continue
            x = self._shrink(start, x, d)
        return x

    def _shrink(self, start: np.ndarray, x: np.ndarray, d: int) -> np.ndarray:
        """Smallest fraction of feature d's offset that keeps the target, by a batched grid in
        two levels (resolution 1/GRID^2); fraction 1 (the current x) is known to keep it."""
        offset = x[0, d] - start[0, d]
        lo, hi = 0.0, 1.0
        for _ in range(2):
            fractions = np.linspace(lo, hi, GRID + 1, dtype=np.float32)[1:-1]
            trial = np.repeat(x[None], len(fractions), axis=0)
            trial[:, :, d] = start[None, :, d] + (fractions * offset)[:, None]
            ok = np.flatnonzero(self._margin(trial) > 0)
            if ok.size:
                hi = float(fractions[ok[0]])
                lo = float(fractions[ok[0] - 1]) if ok[0] > 0 else lo
            else:
                lo = float(fractions[-1])
        out = x.copy()
        out[:, d] = start[:, d] + np.float32(hi) * offset
        return out

    def _bisect(self, x: np.ndarray, moves: list[np.ndarray]) -> list[float]:
        """Smallest fraction s in (0, 1] of each move that still reaches the target (all
        moves bisected together in one batch per step); s = 1 is known to reach it."""
        lo = np.zeros(len(moves))
        hi = np.ones(len(moves))
        for _ in range(self.config.bisection_steps):
            mid = (lo + hi) / 2.0
            trial = np.stack([x + np.float32(m) * move for m, move in zip(mid, moves,
                                                                         strict=True)])
            ok = self._margin(trial) > 0
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi.tolist()

    def _change(self, start: np.ndarray, end: np.ndarray, d: int) -> FeatureChange:
        name = self.feature_names[d]
        before, after = float(start[-1, d]), float(end[-1, d])
        mean, std = float(self.mean[d]), float(self.std[d])
        return FeatureChange(name, self.units(name, before * std + mean),
                             self.units(name, after * std + mean), before, after)

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

