"""The one training loop (training/loop.py:fit): its two recipes on a tiny separable problem."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from pm_monitor.training.common import train_classifier
from pm_monitor.training.loop import FitConfig, fit


def _data(n: int = 65, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 4, 4, generator=generator)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return x, y


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))


def _loss(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return nn.functional.cross_entropy(model(batch[0]), batch[1])


def test_without_validation_every_epoch_runs_and_the_monitor_is_recorded():
    x, y = _data()
    model = _model()
    seen = []
    config = FitConfig(epochs=7, batch_size=16, lr=0.05, patience=1, schedule="one_cycle",
                       min_batch=2)
    history = fit(model, (x, y), None, _loss, config, log=seen.append,
                  monitor=lambda m: float((m(x).argmax(1) == y).float().mean()))
    assert len(history.train_loss) == len(history.monitor) == len(seen) == 7  # no early stop
    assert history.val_loss == [] and history.best_epoch == 0
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.monitor[-1] >= 0.9
    assert not model.training


def test_with_validation_the_best_weights_are_kept():
    x, y = _data()
    xv, yv = _data(seed=1)
    model = _model()
    history = fit(model, (x, y), (xv, yv), _loss, FitConfig(epochs=6, batch_size=16, lr=0.05),
                  log=lambda _line: None)
    assert len(history.val_loss) == len(history.train_loss) >= 1
    assert 1 <= history.best_epoch <= len(history.val_loss)
    best = min(history.val_loss)
    with torch.no_grad():
        assert _loss(model, (xv, yv)).item() == pytest.approx(best, rel=1e-5)


def test_classifier_recipe_is_reproducible_and_skips_single_sample_batches():
    # 33 = 2 x 16 + 1: a last batch of one sample would make BatchNorm1d raise in training
    x, y = _data(n=33)
    runs = []
    for _ in range(2):
        model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.BatchNorm1d(4),
                              nn.Linear(4, 2))
        torch.manual_seed(3)
        for layer in model:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        history = train_classifier(model, x, y, epochs=4, batch_size=16, lr=0.01, seed=5,
                                   augment=lambda batch, g: batch * (1.0 + 0.01 * torch.rand(
                                       batch.shape[0], 1, 1, 1, generator=g)))
        runs.append((history, [p.detach().clone() for p in model.parameters()]))
    (first, weights_a), (second, weights_b) = runs
    assert len(first["train_loss"]) == 4 and first["monitor"] == []
    assert first["train_loss"] == second["train_loss"]
    for a, b in zip(weights_a, weights_b, strict=True):
        assert torch.equal(a, b)


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        FitConfig(schedule="linear")
