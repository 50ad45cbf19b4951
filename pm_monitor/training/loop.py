"""The one training loop of every torch model: AdamW on shuffled mini-batches.

Two recipes of the same loop (FitConfig.schedule):
- "cosine" (the rig cascade and the FEMTO models): cosine schedule per epoch, early stopping on
  the validation data, best weights restored; the cascade paper's [P1] recipe scaled down
  to a 2-core CPU;
- "one_cycle" (the media classifiers, training/common.py:train_classifier): one-cycle schedule
  per step for a fixed number of epochs, no validation data (the only held-out data is the test
  side, which must not choose anything).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]
Augment = Callable[[tuple[torch.Tensor, ...], torch.Generator], tuple[torch.Tensor, ...]]


@dataclass
class FitHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    monitor: list[float] = field(default_factory=list)  # monitor(model) after each epoch
    best_epoch: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class FitConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    seed: int = 0
    max_seconds: float = 240.0  # wall-clock cap: the whole training must stay under 10 min
    schedule: str = "cosine"  # "cosine" (per epoch) or "one_cycle" (per step, peak lr)
    min_batch: int = 1  # smaller last batches are skipped (batch norm needs two samples)

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "one_cycle"):
            raise ValueError(f"unknown schedule {self.schedule!r}")


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, ...],
    val: tuple[torch.Tensor, ...] | None,
    loss_fn: LossFn,
    config: FitConfig,
    augment: Augment | None = None,
    name: str = "model",
    log: Callable[[str], None] = print,
    monitor: Callable[[nn.Module], float] | None = None,
) -> FitHistory:
    """Train `model` in place on mini-batches of the `train` tensors (first dim = samples).

    val None: no early stopping, all epochs run. monitor(model) is recorded after each epoch
    (for learning-curve plots only; it chooses nothing)."""
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    n = train[0].shape[0]
    if config.schedule == "one_cycle":
        steps = config.epochs * ((n + config.batch_size - 1) // config.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr,
                                                       total_steps=steps)
    else:
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    history, best_state, best_val, stale = FitHistory(), None, float("inf"), 0
    start = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for first in range(0, n, config.batch_size):
            index = order[first : first + config.batch_size]
            if len(index) < config.min_batch:
                continue
            batch = tuple(t[index] for t in train)
            if augment is not None:
                batch = augment(batch, generator)
            loss = loss_fn(model, batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if config.schedule == "one_cycle":
                schedule.step()
            total += loss.item() * batch[0].shape[0]
        if config.schedule == "cosine":
            schedule.step()
        history.train_loss.append(total / n)
        if monitor is not None:
            history.monitor.append(monitor(model))
        if val is None:
            log(f"  {name} epoch {epoch + 1:2d}: train {total / n:.4f}")
            continue
        val_loss = evaluate_loss(model, val, loss_fn, config.batch_size * 4)
        history.val_loss.append(val_loss)
        log(f"  {name} epoch {epoch + 1:2d}: train {total / n:.4f}  val {val_loss:.4f}")
        if val_loss < best_val - 1e-5:
            best_val, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
            history.best_epoch = epoch + 1
        else:
            stale += 1
        if stale >= config.patience or time.perf_counter() - start > config.max_seconds:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def evaluate_loss(
    model: nn.Module, data: tuple[torch.Tensor, ...], loss_fn: LossFn, batch_size: int
) -> float:
    model.eval()
    n, total = data[0].shape[0], 0.0
    with torch.no_grad():
        for first in range(0, n, batch_size):
            batch = tuple(t[first : first + batch_size] for t in data)
            total += loss_fn(model, batch).item() * batch[0].shape[0]
    return total / max(n, 1)
