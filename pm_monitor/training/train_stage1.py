"""Training of Stage 1: health state + fault type from sequences of standardised features."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.training.augment import drop_sensor_groups
from pm_monitor.training.loop import FitConfig, FitHistory, Unlabelled, fit

FAULT_LOSS_WEIGHT = 0.5  # the fault type is the secondary question; the state drives the alert
SENSOR_DROPOUT = 0.1


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """1 / sqrt(frequency), normalised to mean 1: rare states (Failure) count more without the
    full inverse-frequency weighting that makes the model cry wolf."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def train_stage1(
    model: HealthStateBiLSTM,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray, np.ndarray],
    sensor_groups: list[slice],
    config: FitConfig,
    log: Callable[[str], None] = print,
    unlabelled: Unlabelled | None = None,
) -> FitHistory:
    """train / val: (sequences (N, T, D), state labels (N,), fault-type labels (N,));
    unlabelled: sequences without labels and their loss (semi_supervised.py)."""
    state_weights = balanced_class_weights(train[1], model.state_head.out_features)
    fault_weights = balanced_class_weights(train[2], model.fault_head.out_features)

    def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, state, fault = batch
        out = net(x)
        return F.cross_entropy(out.state_logits, state, weight=state_weights) + (
            FAULT_LOSS_WEIGHT * F.cross_entropy(out.fault_logits, fault, weight=fault_weights)
        )

    def augment(batch: tuple[torch.Tensor, ...], generator: torch.Generator):
        x, state, fault = batch
        dropped, _ = drop_sensor_groups(x, sensor_groups, SENSOR_DROPOUT, generator)
        return dropped, state, fault

    return fit(model, _tensors(train), _tensors(val), loss_fn, config, augment, "stage1", log,
               unlabelled=unlabelled)


def predict_stage1(
    model: HealthStateBiLSTM, sequences: np.ndarray, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(state probabilities (N, 4), fault-type probabilities (N, 4))."""
    model.eval()
    states, faults = [], []
    with torch.no_grad():
        for first in range(0, len(sequences), batch_size):
            out = model(torch.from_numpy(sequences[first : first + batch_size]))
            states.append(torch.softmax(out.state_logits, -1).numpy())
            faults.append(torch.softmax(out.fault_logits, -1).numpy())
    return np.concatenate(states), np.concatenate(faults)


def _tensors(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[torch.Tensor, ...]:
    x, state, fault = data
    return (
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        torch.from_numpy(state.astype(np.int64)),
        torch.from_numpy(fault.astype(np.int64)),
    )
