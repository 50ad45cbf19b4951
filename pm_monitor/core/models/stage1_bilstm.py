"""Stage 1 ([P1]): BiLSTM + temporal attention over a short sequence of feature vectors.

The model sees the last T standardised feature vectors (one per hop) and predicts the health
state and, as a second head, the fault type. The attention weights over the T steps are returned
so that they can be shown as the temporal explanation.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Stage1Output(NamedTuple):
    state_logits: torch.Tensor  # (B, n_states)
    fault_logits: torch.Tensor  # (B, n_fault_types)
    attention: torch.Tensor  # (B, T), each row sums to 1


class TemporalAttention(nn.Module):
    """alpha_t = softmax_t(w_a^T tanh(W_h h_t + b_h)) ([P1], eq. 3); c = sum_t alpha_t h_t."""

    def __init__(self, input_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(input_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        energies = self.score(torch.tanh(self.project(hidden))).squeeze(-1)  # (B, T)
        weights = torch.softmax(energies, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), hidden).squeeze(1)  # (B, 2h)
        return context, weights


class HealthStateBiLSTM(nn.Module):
    """Two-layer BiLSTM encoder, temporal attention, health-state head and fault-type head."""

    def __init__(
        self,
        n_features: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        attention_dim: int = 32,
        n_states: int = 4,
        n_fault_types: int = 4,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.encoder = nn.LSTM(
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.attention = TemporalAttention(2 * hidden_size, attention_dim)
        self.dropout = nn.Dropout(dropout)
        self.state_head = nn.Linear(2 * hidden_size, n_states)
        self.fault_head = nn.Linear(2 * hidden_size, n_fault_types)

    def forward(self, sequence: torch.Tensor) -> Stage1Output:
        """sequence: (B, T, n_features) standardised features, missing ones imputed as 0."""
        hidden, _ = self.encoder(sequence)
        context, weights = self.attention(hidden)
        context = self.dropout(context)
        return Stage1Output(self.state_head(context), self.fault_head(context), weights)
