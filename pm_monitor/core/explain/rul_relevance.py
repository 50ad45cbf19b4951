"""Why the RUL estimate is what it is: a model-agnostic attribution over health indicators x
time blocks for any estimate(history), in the form the RulExplanation message publishes.

`history_relevance`: for a model that is not a network (a prior + health-indicator trend /
Kalman filter): Shapley values (captum ShapleyValueSampling) of estimate(history) over
players = (indicator, time block); a player "absent" = that indicator held at its healthy
reference level during that block. Each sampled permutation telescopes, so the values add
up exactly to estimate(history) - estimate(all at the reference).

The LRP of the offline paper-002 network lives with that network
(pm_monitor/training/rul_network/relevance.py) and returns the same `RulExplanation`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from captum.attr import ShapleyValueSampling

# ----------------------------------------------------------------------------- history
Estimate = Callable[[np.ndarray], float]  # history (N snapshots, C indicators) -> estimate


@dataclass(frozen=True)
class HistoryRelevance:
    """Shapley values of estimate(history) per (indicator, time block)."""

    values: np.ndarray  # (C, B)
    names: tuple[str, ...]  # C indicator names
    block_edges: np.ndarray  # (B + 1,) snapshot indices: block b = [edges[b], edges[b+1])
    estimate: float
    reference_estimate: float  # every indicator at its reference level throughout
    method: str
    evaluations: int

    @property
    def conservation_error(self) -> float:
        """|sum(values) - (estimate - reference_estimate)|, relative to that difference."""
        gap = self.estimate - self.reference_estimate
        return abs(float(self.values.sum()) - gap) / max(abs(gap), 1e-9)

    def top(self, n: int = 3) -> list[tuple[str, int, float]]:
        """(indicator, block, value) of the n largest |values|."""
        order = np.argsort(-np.abs(self.values), axis=None)[:n]
        return [(self.names[i], int(b), float(self.values[i, b]))
                for i, b in zip(*np.unravel_index(order, self.values.shape), strict=True)]


def time_blocks(n_snapshots: int, n_blocks: int) -> np.ndarray:
    """Edges of at most n_blocks contiguous blocks of (nearly) equal size, oldest first."""
    n_blocks = max(1, min(n_blocks, n_snapshots))
    return np.linspace(0, n_snapshots, n_blocks + 1).round().astype(int)


def history_relevance(estimate: Estimate, history: np.ndarray, names: Sequence[str],
                      reference: np.ndarray | None = None, n_blocks: int = 4,
                      n_permutations: int = 20, seed: int = 0) -> HistoryRelevance:
    """history (N, C); reference (C,) healthy level per indicator (default: the median of the
    first block, i.e. how this asset looked when monitoring began)."""
    history = np.asarray(history, np.float64)
    if history.ndim != 2 or history.shape[1] != len(names) or len(history) == 0:
        raise ValueError(f"history must be (N > 0, {len(names)}), got {history.shape}")
    edges = time_blocks(len(history), n_blocks)
    if reference is None:
        reference = np.median(history[edges[0]:edges[1]], axis=0)
    reference = np.asarray(reference, np.float64)
    if reference.shape != (history.shape[1],):
        raise ValueError(f"reference must be ({history.shape[1]},), got {reference.shape}")
    baseline = np.broadcast_to(reference, history.shape).copy()
    n_b = len(edges) - 1
    mask = np.zeros(history.shape, np.int64)
    for b in range(n_b):
        mask[edges[b]:edges[b + 1]] = np.arange(history.shape[1]) * n_b + b
    calls = [0]

    def forward(batch: torch.Tensor) -> torch.Tensor:
        calls[0] += batch.shape[0]
        return torch.tensor([float(estimate(row.numpy())) for row in batch], dtype=torch.float64)

    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        phi = ShapleyValueSampling(forward).attribute(
            torch.from_numpy(history)[None], baselines=torch.from_numpy(baseline)[None],
            feature_mask=torch.from_numpy(mask)[None], n_samples=n_permutations,
            perturbations_per_eval=1)
    evaluations = calls[0]
    values = np.zeros((history.shape[1], n_b))
    flat = phi[0].numpy()
    for c in range(history.shape[1]):
        for b in range(n_b):
            values[c, b] = flat[edges[b], c]
    return HistoryRelevance(values, tuple(names), edges, float(estimate(history)),
                            float(estimate(baseline)),
                            f"shapley_value_sampling(captum, {n_permutations} permutations, "
                            f"{history.shape[1]} indicators x {n_b} time blocks)", evaluations)


# ----------------------------------------------------------------------------- published form
@dataclass(frozen=True)
class RulExplanation:
    """What the RulExplanation message carries: relevance (inputs x time blocks)."""

    method: str
    explained_quantity: str
    estimate: float
    reference_estimate: float
    input_names: tuple[str, ...]
    block_start_s: np.ndarray  # (B,)
    block_end_s: np.ndarray  # (B,)
    relevance: np.ndarray  # (C, B)
    conservation_error: float
    computation_ms: float

    @property
    def summary(self) -> str:
        """The two most relevant (input, block) pairs in words."""
        order = np.argsort(-np.abs(self.relevance), axis=None)[:2]
        parts = []
        for c, b in zip(*np.unravel_index(order, self.relevance.shape), strict=True):
            value = float(self.relevance[c, b])
            if value == 0.0:
                continue
            parts.append(f"{self.input_names[c]} at {self.block_start_s[b]:.0f}-"
                         f"{self.block_end_s[b]:.0f} s {'raised' if value > 0 else 'lowered'} "
                         f"it ({value:+.3g})")
        head = f"{self.explained_quantity} {self.estimate:.4g}"
        return head + (": " + "; ".join(parts) if parts else ": no input moved it")


def explain_history(estimate: Estimate, history: np.ndarray, t_s: np.ndarray,
                    names: Sequence[str], quantity: str = "rul_s",
                    reference: np.ndarray | None = None, n_blocks: int = 4,
                    n_permutations: int = 20) -> RulExplanation:
    """history_relevance in the published form (block times from t_s (N,))."""
    start = time.perf_counter()
    result = history_relevance(estimate, history, names, reference, n_blocks, n_permutations)
    t_s = np.asarray(t_s, np.float64)
    edges = result.block_edges
    return RulExplanation(
        result.method, quantity, result.estimate, result.reference_estimate, tuple(names),
        t_s[edges[:-1]], t_s[edges[1:] - 1], result.values, result.conservation_error,
        (time.perf_counter() - start) * 1e3)


class RecentHistory:
    """What `explain_history` needs from a live estimator whose state is a tracker updated one
    snapshot at a time (update(t_s, row[, *context]), estimate()): the last `window` snapshots
    (with the context each update got, e.g. the RUL tracker's health state, which a what-if on
    the indicator rows replays unchanged), the
    tracker's state before the first of them, and the asset's healthy level (the median of the
    first `healthy_snapshots` rows it ever saw). An explanation replays only the window from
    that state, so its cost does not grow with the asset's age."""

    def __init__(self, window: int = 24, healthy_snapshots: int = 6) -> None:
        if window < 1 or healthy_snapshots < 1:
            raise ValueError("window and healthy_snapshots must be >= 1")
        self.window, self.healthy_snapshots = window, healthy_snapshots
        self._states: list[object] = []
        self._times: list[float] = []
        self._rows: list[np.ndarray] = []
        self._context: list[tuple] = []
        self._healthy: list[np.ndarray] = []

    def before_update(self, tracker, t_s: float, row: np.ndarray, *context) -> None:
        """Call just before tracker.update(t_s, row, *context). The copy shares the tracker's
        model (a read-only parameter set) instead of copying it."""
        model = getattr(tracker, "model", None)
        memo = {} if model is None else {id(model): model}
        self._states.append(copy.deepcopy(tracker, memo))
        self._times.append(float(t_s))
        self._rows.append(np.asarray(row, np.float64).copy())
        self._context.append(tuple(context))
        if len(self._healthy) < self.healthy_snapshots:
            self._healthy.append(self._rows[-1])
        del self._states[:-self.window], self._times[:-self.window], self._rows[:-self.window]
        del self._context[:-self.window]

    def __len__(self) -> int:
        return len(self._rows)

    def to_dict(self, state_to_dict: Callable[[object], dict]) -> dict:
        """JSON-able: the tracker state before the window (`state_to_dict` of it), the
        window's times, rows and contexts (ints / floats / None), and the healthy rows. The
        later states are not stored: `from_dict` replays them (the tracker is deterministic),
        so a stored history stays a few kB whatever the window."""
        return {"window": self.window, "healthy_snapshots": self.healthy_snapshots,
                "first_state": state_to_dict(self._states[0]) if self._states else None,
                "times": list(self._times), "rows": [r.tolist() for r in self._rows],
                "context": [[_plain(c) for c in ctx] for ctx in self._context],
                "healthy": [r.tolist() for r in self._healthy]}

    @classmethod
    def from_dict(cls, data: dict, state_from_dict: Callable[[dict], object],
                  width: int) -> RecentHistory:
        """The history `to_dict` described; `width`: indicators per row. Raises KeyError /
        ValueError / TypeError for a bad description."""
        history = cls(int(data["window"]), int(data["healthy_snapshots"]))
        times = [float(t) for t in data["times"]]
        rows = [np.asarray(r, np.float64) for r in data["rows"]]
        contexts = [tuple(c) for c in data["context"]]
        healthy = [np.asarray(r, np.float64) for r in data["healthy"]]
        if not (len(times) == len(rows) == len(contexts) <= history.window
                and len(healthy) <= history.healthy_snapshots):
            raise ValueError("recent history of inconsistent lengths")
        if any(r.shape != (width,) or not np.all(np.isfinite(r)) for r in rows + healthy):
            raise ValueError(f"recent history rows other than {width} finite values")
        if any(b <= a for a, b in pairwise(times)):
            raise ValueError("recent history times do not increase")
        if rows and data["first_state"] is None:
            raise ValueError("recent history without its first state")
        history._times, history._rows, history._context = times, rows, contexts
        history._healthy = healthy
        if rows:  # the states before each snapshot, replayed from the first one
            state = state_from_dict(data["first_state"])
            model = getattr(state, "model", None)
            memo = {} if model is None else {id(model): model}
            for t, row, context in zip(times, rows, contexts, strict=True):
                history._states.append(copy.deepcopy(state, dict(memo)))
                state.update(t, row, *context)
        return history

    def frozen(self) -> RecentHistory:
        """A copy that later before_update calls do not change (for a worker thread)."""
        copied = RecentHistory(self.window, self.healthy_snapshots)
        copied._states, copied._times = list(self._states), list(self._times)
        copied._rows, copied._healthy = list(self._rows), list(self._healthy)
        copied._context = list(self._context)
        return copied

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times (N,), indicator rows (N, C), healthy level (C,)) of the window."""
        return (np.array(self._times), np.stack(self._rows),
                np.median(np.stack(self._healthy), axis=0))

    def replay(self, rows: np.ndarray,
               value_of: Callable[[object], float] = lambda tracker: tracker.estimate().rul_s
               ) -> float:
        """value_of(tracker) after the window's snapshots with these indicator rows instead
        (what-if), from the state before the window."""
        start_state = self._states[0]
        model = getattr(start_state, "model", None)
        tracker = copy.deepcopy(start_state, {} if model is None else {id(model): model})
        for t, row, context in zip(self._times, rows, self._context, strict=True):
            tracker.update(float(t), row, *context)
        return float(value_of(tracker))

    def explain(self, names: Sequence[str],
                value_of: Callable[[object], float] = lambda tracker: tracker.estimate().rul_s,
                n_blocks: int = 4, n_permutations: int = 8) -> RulExplanation | None:
        """Relevance of (indicator, block of the window) for value_of(tracker after the
        window); None before any snapshot."""
        if not self._rows:
            return None
        times, rows, healthy = self.rows()
        return explain_history(lambda r: self.replay(r, value_of), rows, times, names, "rul_s",
                               healthy, n_blocks, n_permutations)


def _plain(value: object) -> object:
    """A context value as JSON keeps it: an int (an IntEnum such as a HealthState), a float,
    or None."""
    if value is None or isinstance(value, float):
        return value
    return int(value)
