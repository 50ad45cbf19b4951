"""Splits by bearing, never by window: leave-one-bearing-out folds and ensemble-member groups.

Every snapshot of a bearing is on one side only. The ensemble's members each leave out one
group of the *training* bearings, so each training bearing has out-of-bag predictions from a
member that never saw it: those calibrate the interval without touching the held-out bearing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fold:
    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        check_disjoint(self.train, self.test)


class LeakageError(ValueError):
    """A bearing appears on both sides of a split."""


def check_disjoint(train: Sequence[str], test: Sequence[str]) -> None:
    both = sorted(set(train) & set(test))
    if both:
        raise LeakageError(f"bearings on both sides of the split: {both}")
    if not train or not test:
        raise ValueError("a split needs training and test bearings")


def leave_one_bearing_out(names: Sequence[str]) -> list[Fold]:
    """One fold per bearing: that bearing is the test set, all others train."""
    names = tuple(names)
    if len(set(names)) != len(names):
        raise ValueError("bearing names must be unique")
    return [Fold(name, tuple(n for n in names if n != name), (name,)) for name in names]


def member_holdouts(train: Sequence[str], n_members: int, seed: int) -> list[tuple[str, ...]]:
    """Partition the training bearings into n_members groups; member m leaves out group m."""
    train = list(train)
    if not 2 <= n_members <= len(train):
        raise ValueError(f"need 2 <= n_members <= {len(train)} training bearings")
    order = np.random.default_rng(seed).permutation(len(train))
    return [tuple(sorted(train[i] for i in order[m::n_members])) for m in range(n_members)]
