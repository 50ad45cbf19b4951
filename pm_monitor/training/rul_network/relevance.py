"""Layer-wise relevance for the offline paper-002 RUL network (moved out of the runtime core with
the network; the published form is core/explain/rul_relevance.RulExplanation).

`network_relevance`: LRP-0 of RulNet's normalised-RUL logit (before the sigmoid) onto its
    inputs, the CWT images and the standardised features of every snapshot. captum's LRP only
    has rules for Linear/Conv2d/pooling/ReLU/Dropout/Tanh; it refuses RulNet (Conv1d, LSTM,
    MultiheadAttention, LayerNorm have no rule, and nn.LSTM returns a tuple its hooks cannot
    take). The rules are therefore written here in the "modified gradient x input" form, which
    equals LRP-0 layer by layer:
    * Conv / Linear / ReLU / max-pool / zero padding / residual sums: plain gradient x input
      (for these layers that *is* LRP-0; the test checks it against captum's LRP on a network
      captum covers);
    * LSTM: the gates (sigmoids) act as fixed weights, the candidate's tanh passes relevance
      through unchanged ("signal-take-all", Arras et al. 2017);
    * attention: the softmax weights are fixed, relevance flows through the values only;
      LayerNorm: the standard deviation is fixed (Ali et al. 2022, "XAI for Transformers:
      better explanations through conservative propagation").
    The network so linearised is homogeneous of degree 1 in (inputs, biases), so
    sum(input relevance) + sum(bias relevance) = the logit (conservation; the biases' share is
    reported, it is the part of the estimate no input explains).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.rul_relevance import RulExplanation
from pm_monitor.training.rul_network.network import RulNet

STABILISER = 1e-6


def _pass_through(z: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """activation's value, but relevance passes unchanged: z * (a / z) with a / z fixed."""
    safe = torch.where(z.abs() < STABILISER, torch.full_like(z, STABILISER), z)
    ratio = torch.where(z.abs() < STABILISER, torch.ones_like(z), activation / safe)
    return z * ratio.detach()


def _lstm_lrp(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """nn.LSTM (batch_first, unidirectional, eval) step by step from its weights, gates fixed."""
    hidden = lstm.hidden_size
    out = x
    for layer in range(lstm.num_layers):
        w_ih = getattr(lstm, f"weight_ih_l{layer}")
        w_hh = getattr(lstm, f"weight_hh_l{layer}")
        b_ih = getattr(lstm, f"bias_ih_l{layer}")
        b_hh = getattr(lstm, f"bias_hh_l{layer}")
        h = out.new_zeros(out.shape[0], hidden)
        c = out.new_zeros(out.shape[0], hidden)
        steps = []
        for t in range(out.shape[1]):
            z = out[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            i, f, g, o = z.split(hidden, dim=1)
            i, f, o = (torch.sigmoid(v).detach() for v in (i, f, o))
            c = f * c + i * _pass_through(g, torch.tanh(g))
            h = o * _pass_through(c, torch.tanh(c))
            steps.append(h)
        out = torch.stack(steps, dim=1)
    return out


def _layer_norm_lrp(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(-1, keepdim=True)
    std = torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + norm.eps).detach()
    return centred / std * norm.weight + norm.bias


def _attention_lrp(attention: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """Self-attention (batch_first) with the softmax weights fixed."""
    batch, steps, dim = x.shape
    heads = attention.num_heads
    q, k, v = (x @ attention.in_proj_weight.T + attention.in_proj_bias).split(dim, dim=-1)

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch, steps, heads, dim // heads).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / (dim // heads) ** 0.5
    weights = torch.softmax(scores, dim=-1).detach()
    mixed = (weights @ split(v)).transpose(1, 2).reshape(batch, steps, dim)
    return attention.out_proj(mixed)


def rulnet_logits_lrp(net: RulNet, images: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """RulNet.forward up to the head's logits (before the sigmoid) with the LRP rules above;
    the values equal the network's (the rules change gradients only)."""
    fused = net.fuse(images, features)
    sequence = _layer_norm_lrp(net.norm, _lstm_lrp(net.lstm, fused) + net.lstm_skip(fused))
    sequence = _layer_norm_lrp(net.attention_norm, sequence + _attention_lrp(net.attention,
                                                                           sequence))
    return net.head(sequence[:, -1])


@dataclass(frozen=True)
class NetworkRelevance:
    """LRP-0 of one output logit of one RulNet for one sequence of T snapshots."""

    images: np.ndarray  # (T, levels, width) relevance of every image pixel
    features: np.ndarray  # (T, n_features) relevance of every standardised feature
    bias: float  # relevance absorbed by the biases (LayerNorm shifts included)
    logit: float  # the explained logit (sigmoid(logit) = the normalised RUL)
    output: int  # 0 piecewise head, 1 linear head

    @property
    def conservation_error(self) -> float:
        """|sum(inputs) + bias - logit| / max(|logit|, 1e-6)."""
        total = float(self.images.sum() + self.features.sum()) + self.bias
        return abs(total - self.logit) / max(abs(self.logit), 1e-6)

    def per_snapshot(self) -> np.ndarray:
        """(T, 1 + n_features): image relevance, then each feature's, per snapshot."""
        return np.concatenate([self.images.sum(axis=(1, 2))[:, None], self.features], axis=1)


def network_relevance(net: RulNet, images: np.ndarray, features: np.ndarray,
                      output: int = 0) -> NetworkRelevance:
    """images (T, levels, width) as the network takes them; features (T, n_features) already
    standardised (RulEnsemble.tensors)."""
    net = net.eval()
    x_img = torch.tensor(np.asarray(images, np.float32)[None], requires_grad=True)
    x_feat = torch.tensor(np.asarray(features, np.float32)[None], requires_grad=True)
    # every additive parameter: .bias, LSTM bias_ih/bias_hh, attention in_proj_bias
    biases = [p for name, p in net.named_parameters() if "bias" in name.rsplit(".", 1)[-1]]
    with torch.enable_grad():
        logit = rulnet_logits_lrp(net, x_img, x_feat)[0, output]
        grads = torch.autograd.grad(logit, [x_img, x_feat, *biases], allow_unused=True)
    bias = sum(float((b * g).detach().sum()) for b, g in zip(biases, grads[2:], strict=True)
               if g is not None)
    return NetworkRelevance((x_img * grads[0])[0].detach().numpy(),
                            (x_feat * grads[1])[0].detach().numpy(), bias,
                            float(logit.detach()), output)


def ensemble_relevance(members: Sequence[RulNet], images: np.ndarray, features: np.ndarray,
                       output: int = 0) -> NetworkRelevance:
    """The members' relevances averaged (the ensemble's estimate is their mean output)."""
    parts = [network_relevance(m, images, features, output) for m in members]
    return NetworkRelevance(np.mean([p.images for p in parts], axis=0),
                            np.mean([p.features for p in parts], axis=0),
                            float(np.mean([p.bias for p in parts])),
                            float(np.mean([p.logit for p in parts])), output)



def explain_network(members: Sequence[RulNet], images: np.ndarray, features: np.ndarray,
                    t_s: np.ndarray, feature_names: Sequence[str], output: int = 0
                    ) -> RulExplanation:
    """LRP of an ensemble's output for one sequence (images (T, L, W), standardised features
    (T, F), elapsed times (T,)): rows = the CWT image and each feature, columns = snapshots."""
    start = time.perf_counter()
    relevance = ensemble_relevance(members, images, features, output)
    t_s = np.asarray(t_s, np.float64)
    return RulExplanation(
        "lrp_0(gates, attention weights and LayerNorm std fixed)",
        f"logit of the normalised RUL ({'piecewise' if output == 0 else 'linear'} head)",
        relevance.logit, relevance.bias, ("cwt_image", *feature_names), t_s, t_s,
        relevance.per_snapshot().T, relevance.conservation_error,
        (time.perf_counter() - start) * 1e3)
