"""What every training task shares: seeding, the classifier training loop (a recipe of
loop.fit), a linear baseline, JSON / markdown writers, learning-curve and confusion plots, and
the training recipe recorded in the weights' metadata."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pm_monitor.core.models.weights import jsonable
from pm_monitor.training.cli import REPO_ROOT
from pm_monitor.training.loop import FitConfig, fit


def repo_path(value: str | Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def seed_everything(seed: int) -> torch.Generator:
    """Seed numpy and torch; one torch thread (2 shared cores: no OpenMP contention)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch.Generator().manual_seed(seed)


def train_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    monitor: Callable[[nn.Module], float] | None = None,
    desc: str = "train",
) -> dict[str, list[float]]:
    """Cross-entropy training of an image classifier with loop.fit's "one_cycle" recipe: AdamW +
    one-cycle schedule for a fixed number of epochs (no early stopping: the only held-out data
    is the test side, which must not choose anything). Returns per-epoch train loss and, if
    given, ``monitor(model)`` (for the learning-curve plot only)."""
    seed_everything(seed)  # also seeds the global torch RNG that dropout draws from

    def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        output = net(batch[0])
        logits = output[0] if isinstance(output, tuple) else output
        return nn.functional.cross_entropy(logits, batch[1])

    def augment_images(batch: tuple[torch.Tensor, ...], generator: torch.Generator
                       ) -> tuple[torch.Tensor, ...]:
        assert augment is not None
        return (augment(batch[0], generator), batch[1])

    config = FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4, seed=seed,
                       max_seconds=math.inf, schedule="one_cycle", min_batch=2)
    with tqdm(total=epochs, desc=desc, leave=False) as bar:
        history = fit(model, (images, labels), None, loss_fn, config,
                      augment_images if augment is not None else None, desc,
                      log=lambda _line: bar.update(1), monitor=monitor)
    return {"train_loss": history.train_loss, "monitor": history.monitor}


@torch.no_grad()
def predict_probabilities(model: nn.Module, images: torch.Tensor,
                          batch_size: int = 128) -> np.ndarray:
    model.eval()
    chunks = []
    for chunk in torch.split(images, batch_size):
        output = model(chunk)
        logits = output[0] if isinstance(output, tuple) else output
        chunks.append(torch.softmax(logits, dim=1).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


class LinearBaseline:
    """Multinomial logistic regression on a few standardised features (full-batch L-BFGS)."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, n_classes: int,
                 l2: float = 1e-3) -> None:
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        self.mean, self.std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        inputs = torch.tensor((x - self.mean) / self.std, dtype=torch.float64)
        targets = torch.as_tensor(labels, dtype=torch.long)
        self.layer = nn.Linear(inputs.shape[1], n_classes).double()
        optimiser = torch.optim.LBFGS(self.layer.parameters(), max_iter=300,
                                      line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(self.layer(inputs), targets)
            loss = loss + l2 * (self.layer.weight ** 2).sum()
            loss.backward()
            return loss

        optimiser.step(closure)

    @torch.no_grad()
    def predict(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        inputs = torch.tensor((x - self.mean) / self.std, dtype=torch.float64)
        return self.layer(inputs).argmax(dim=1).numpy()


def mean_std(values: list[float] | np.ndarray) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1
            else 0.0, "n": int(array.size)}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=1, default=jsonable) + "\n")


def write_markdown(path: Path, title: str, sections: list[tuple[str, list[str], list[list[str]]]],
                   notes: list[str]) -> None:
    """A markdown file of tables: sections = (heading, header, rows)."""
    lines = [f"# {title}", ""]
    for heading, header, rows in sections:
        lines += [f"## {heading}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    lines += [f"- {note}" for note in notes]
    path.write_text("\n".join(lines) + "\n")


def plot_learning_curves(curves: dict[str, dict[str, list[float]]], monitor_label: str,
                         path: Path) -> None:
    """Training loss and a monitored held-out metric per run; runs named "<group> seed <n>"
    share their group's colour (one legend entry per group) and the bold black line is the mean
    over all runs, so 25 runs stay readable."""
    fig, (ax_loss, ax_mon) = plt.subplots(1, 2, figsize=(11, 3.8))
    groups = list(dict.fromkeys(name.split(" seed ")[0] for name in curves))
    labelled: set[str] = set()
    for name, history in curves.items():
        group = name.split(" seed ")[0]
        colour = f"C{groups.index(group) % 10}"
        label = group if group not in labelled else None
        labelled.add(group)
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax_loss.plot(epochs, history["train_loss"], color=colour, alpha=0.55, lw=1, label=label)
        if history["monitor"]:
            ax_mon.plot(epochs, history["monitor"], color=colour, alpha=0.55, lw=1, label=label)
    for ax, key in ((ax_loss, "train_loss"), (ax_mon, "monitor")):
        runs = [h[key] for h in curves.values() if h[key]]
        if runs and len({len(r) for r in runs}) == 1:
            ax.plot(np.arange(1, len(runs[0]) + 1), np.mean(runs, axis=0), color="black", lw=2.2,
                    label=f"mean of {len(runs)} runs")
    ax_loss.set(xlabel="epoch", ylabel="training cross-entropy", title="training loss")
    ax_mon.set(xlabel="epoch", ylabel=monitor_label,
               title=f"{monitor_label}\n(plotted only; never used to pick epochs)")
    ax_mon.title.set_fontsize(9)
    for ax in (ax_loss, ax_mon):
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def training_recipe(config: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The config entries that shaped the weights (recorded in the weights' metadata)."""
    return {key: config[key] for key in keys if key in config}


def reference_predictions(files: Sequence[str], probabilities: np.ndarray,
                          class_names: Sequence[str]) -> list[dict[str, Any]]:
    """The shipped model's predictions on a few files, stored in its metadata so a test can
    re-check the weights (those files are test fixtures)."""
    return [{"file": f, "predicted": class_names[int(p.argmax())],
             "probabilities": [round(float(v), 6) for v in p]}
            for f, p in zip(files, probabilities, strict=True)]




def plot_confusion_large(confusion: np.ndarray, names: tuple[str, ...], title: str,
                         path: Path) -> None:
    """Counts and row rates, sized for ten-odd classes with long names."""
    size = 1.6 + 0.62 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(len(names)):
        for j in range(len(names)):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="truth")
    ax.set_title(title + "\n(counts; colour = share of the true class)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
