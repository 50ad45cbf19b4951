"""Integrated gradients on Stage 1 (via captum) and its aggregation per sensor and modality."""
from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients

from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM


def stage1_integrated_gradients(
    model: HealthStateBiLSTM, sequence: np.ndarray, target_state: int, n_steps: int = 32
) -> tuple[np.ndarray, float]:
    """IG of the target state's logit w.r.t. a (T, D) standardised input sequence.

    The baseline is the all-zero sequence, i.e. every feature at its training mean, which is also
    what a missing sensor is imputed with: an attribution says how much the measured deviation
    from the average training window moved the decision. Returns ((T, D) attributions, the
    completeness error |sum(attr) - (f(x) - f(baseline))|).
    """

    def state_logit(inputs: torch.Tensor) -> torch.Tensor:
        return model(inputs).state_logits

    inputs = torch.as_tensor(sequence, dtype=torch.float32)[None]
    integrated = IntegratedGradients(state_logit)
    with torch.enable_grad():
        attributions, delta = integrated.attribute(
            inputs,
            baselines=torch.zeros_like(inputs),
            target=target_state,
            n_steps=n_steps,
            return_convergence_delta=True,
        )
    return attributions[0].detach().numpy(), float(delta.abs().sum())


def shares(groups: dict[str, float]) -> dict[str, float]:
    """Normalise non-negative importances to sum 1 (all zero stays all zero)."""
    total = sum(groups.values())
    return {name: (value / total if total > 0 else 0.0) for name, value in groups.items()}
