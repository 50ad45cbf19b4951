"""Semi-supervised training: the three unlabelled terms, the labelled subset, the loop hook."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from pm_monitor.training.loop import FitConfig, Unlabelled, fit
from pm_monitor.training.semi_supervised import (
    SemiSupervisedConfig,
    labelled_subset,
    noise_and_dropout,
    semi_supervised_loss,
    unlabelled_terms,
)


def test_terms_known_answers():
    confident = torch.tensor([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # one sure, one uniform
    terms = unlabelled_terms(confident, confident.clone(), threshold=0.95)
    p = torch.softmax(confident[0], -1)
    # only the confident row gets a pseudo-label, weighted by its confidence (eq. 39)
    expected_pseudo = float(p.max() * -torch.log(p.max())) / 2
    assert float(terms["pseudo"]) == pytest.approx(expected_pseudo, rel=1e-3)
    assert float(terms["consistency"]) == pytest.approx(0.0, abs=1e-12)
    entropy_uniform = math.log(3)
    entropy_sure = float(-(p * torch.log(p)).sum())
    assert float(terms["entropy"]) == pytest.approx((entropy_uniform + entropy_sure) / 2,
                                                    rel=1e-5)
    assert float(terms["confident_share"]) == 0.5
    shifted = unlabelled_terms(confident, torch.tensor([[0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]), 0.95)
    # row 0: q(u) = [a, b, b], q(A(u)) = [b, a, b] -> 2 (a - b)^2; row 1 agrees; mean over 2
    assert float(shifted["consistency"]) == pytest.approx(float((p[0] - p[1]) ** 2), rel=1e-5)
    assert float(shifted["pseudo"]) > 4.0  # the augmented view contradicts the pseudo-label


def test_labelled_subset_is_stratified_seeded_and_keeps_every_class():
    labels = np.repeat([0, 1, 2], [500, 100, 3])
    chosen = labelled_subset(labels, 0.05, seed=3)
    counts = np.bincount(labels[chosen], minlength=3)
    assert counts.tolist() == [25, 5, 1]
    assert np.array_equal(chosen, labelled_subset(labels, 0.05, seed=3))
    assert not np.array_equal(chosen, labelled_subset(labels, 0.05, seed=4))
    with pytest.raises(ValueError):
        labelled_subset(labels, 0.0, seed=0)


def test_augmentation_noise_and_group_dropout():
    x = torch.ones(64, 5, 4)
    out = noise_and_dropout(0.0, 0.0, [slice(0, 2)], 1.0)(x, torch.Generator().manual_seed(0))
    assert torch.all(out[..., :2] == 0) and torch.all(out[..., 2:] == 1)
    noisy = noise_and_dropout(0.5, 0.0)(x, torch.Generator().manual_seed(0))
    assert 0.4 < float((noisy - x).std()) < 0.6


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) * 0.6 + np.where(y[:, None] == 1, 2.0, -2.0)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def test_fit_hook_keeps_the_labelled_batches_and_uses_the_unlabelled_data():
    x, y = _blobs(6, 0)
    pool, _ = _blobs(400, 1)
    config = FitConfig(epochs=5, batch_size=4, lr=0.05, patience=99, steps_per_epoch=7, seed=2)
    seen: dict[str, list] = {"supervised": [], "semi": []}
    calls = []

    def run(arm: str, unlabelled: Unlabelled | None) -> nn.Module:
        torch.manual_seed(0)
        model = nn.Linear(2, 2)

        def loss_fn(net, batch):
            if net.training:
                seen[arm].append(batch[0].clone())
            return F.cross_entropy(net(batch[0]), batch[1])

        fit(model, (x, y), (x, y), loss_fn, config, log=lambda _m: None, unlabelled=unlabelled)
        return model

    run("supervised", None)
    ssl = semi_supervised_loss(noise_and_dropout(0.1, 0.0), SemiSupervisedConfig())

    def counting(model, batch, generator):
        calls.append(batch[0].shape[0])
        return ssl(model, batch, generator)

    model = run("semi", Unlabelled((pool,), counting))
    assert len(seen["supervised"]) == 5 * 7  # steps_per_epoch batches, cycling 6 rows
    assert all(torch.equal(a, b) for a, b in zip(seen["supervised"], seen["semi"], strict=True))
    assert calls == [config.batch_size * config.unlabelled_batch_factor] * 35
    with torch.no_grad():
        accuracy = float((model(pool).argmax(1) == _blobs(400, 1)[1]).float().mean())
    assert accuracy > 0.95


def test_default_epoch_is_one_pass_over_the_data():
    x, y = _blobs(10, 0)
    batches = []

    def loss_fn(net, batch):
        if net.training:
            batches.append(batch[0].shape[0])
        return F.cross_entropy(net(batch[0]), batch[1])

    fit(nn.Linear(2, 2), (x, y), (x, y), loss_fn, replace(FitConfig(), epochs=2, batch_size=4),
        log=lambda _m: None)
    assert batches == [4, 4, 2, 4, 4, 2]


def test_stage1_training_takes_the_unlabelled_data():
    from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
    from pm_monitor.training.train_stage1 import train_stage1

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4, 6)).astype(np.float32)
    state, fault = np.arange(12) % 4, np.arange(12) % 2
    calls = []
    ssl = semi_supervised_loss(noise_and_dropout(0.1, 0.0), heads_of=lambda out: [
        (out.state_logits, 1.0), (out.fault_logits, 0.5)])

    def counting(model, batch, generator):
        calls.append(batch[0].shape)
        return ssl(model, batch, generator)

    torch.manual_seed(0)
    model = HealthStateBiLSTM(6, hidden_size=8, num_layers=1, attention_dim=4)
    history = train_stage1(model, (x, state, fault), (x, state, fault), [slice(0, 3)],
                           FitConfig(epochs=2, batch_size=4, steps_per_epoch=3, patience=9),
                           lambda _m: None,
                           Unlabelled((torch.from_numpy(rng.normal(size=(30, 4, 6))
                                                        .astype(np.float32)),), counting))
    assert len(calls) == 6 and calls[0] == (8, 4, 6)
    assert len(history.val_loss) == 2
