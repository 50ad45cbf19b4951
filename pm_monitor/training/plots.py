"""PNG figures of a training run (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.training.loop import FitHistory


def plot_learning_curves(histories: dict[str, FitHistory], path: Path, *,
                         labels: tuple[str, str] = ("train runs", "validation runs"),
                         title_suffix: str = "", log_scale: bool = False,
                         ylabel: str = "loss", panel_size: tuple[float, float] = (4.2, 3.4),
                         dpi: int = 100) -> None:
    """One panel per fit: train and validation loss per epoch, the epoch whose weights were
    kept marked."""
    width, height = panel_size
    fig, axes = plt.subplots(1, len(histories), figsize=(width * len(histories), height))
    for ax, (name, history) in zip(np.atleast_1d(axes), histories.items(), strict=True):
        epochs = np.arange(1, len(history.train_loss) + 1)
        ax.plot(epochs, history.train_loss, label=labels[0])
        ax.plot(epochs, history.val_loss, label=labels[1])
        ax.axvline(history.best_epoch, color="grey", linestyle=":", label="weights kept")
        if log_scale:
            ax.set_yscale("log")
        if title_suffix:
            ax.set_title(name + title_suffix, fontsize=9)
        else:
            ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, names: tuple[str, ...], title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(len(names)):
        for j in range(len(names)):
            colour = "white" if rates[i, j] > 0.6 else "black"
            ax.text(j, i, f"{confusion[i, j]}\n{rates[i, j]:.0%}", ha="center", va="center",
                    fontsize=8, color=colour)
    ax.set_xticks(range(len(names)), names, rotation=30)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_timeline(
    t_s: np.ndarray,
    truth_state: np.ndarray,
    predicted_state: np.ndarray,
    anomaly: tuple[np.ndarray, np.ndarray],
    rul: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    state_names: tuple[str, ...],
    title: str,
    path: Path,
) -> None:
    """Three panels: health state (truth vs cascade), anomaly score vs its dynamic threshold,
    RUL estimate with its 80 % interval vs the true RUL."""
    fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
    axes[0].step(t_s, truth_state, where="post", label="truth", linewidth=2.5, alpha=0.6)
    axes[0].step(t_s, predicted_state, where="post", label="cascade (Stage 1)", linewidth=1)
    axes[0].set_yticks(range(len(state_names)), state_names)
    axes[0].legend(fontsize=8, loc="upper left")
    axes[0].set_title(title, fontsize=10)
    score, threshold = anomaly
    axes[1].semilogy(t_s, score, label="anomaly score", linewidth=1)
    axes[1].semilogy(t_s, threshold, label="dynamic threshold", linewidth=1)
    axes[1].legend(fontsize=8, loc="upper left")
    true_rul, estimate, lower, upper = rul
    axes[2].plot(t_s, true_rul, label="true RUL", linewidth=2, alpha=0.6)
    axes[2].plot(t_s, estimate, label="estimate", linewidth=1)
    axes[2].fill_between(t_s, lower, upper, alpha=0.25, label="80 % interval")
    finite = true_rul[np.isfinite(true_rul)]
    if finite.size:  # early estimates from a barely started trend can be far off: clip the view
        axes[2].set_ylim(0.0, 1.5 * float(finite.max()) + 1.0)
    axes[2].set_ylabel("RUL [s]")
    axes[2].set_xlabel("time [s]")
    axes[2].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_localisation_examples(
    examples: list[tuple[str, np.ndarray, np.ndarray, tuple[int, int], tuple[int, int, int, int]]],
    path: Path,
) -> None:
    """Per example (title, thermal frame, Grad-CAM heatmap, hotspot, region): the frame, and the
    heatmap over it with the hotspot (+) and the reported region (box)."""
    fig, axes = plt.subplots(len(examples), 2, figsize=(8, 3.2 * len(examples)), squeeze=False)
    for row, (title, frame, heatmap, hotspot, region) in zip(axes, examples, strict=True):
        row[0].imshow(frame, cmap="inferno")
        row[0].set_title(f"{title}: thermal frame (deg C)", fontsize=9)
        row[1].imshow(frame, cmap="gray")
        row[1].imshow(heatmap, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0)
        row[1].plot(*hotspot, "w+", markersize=12, markeredgewidth=2)
        x, y, w, h = region
        row[1].add_patch(plt.Rectangle((x - 0.5, y - 0.5), w, h, fill=False, color="white"))
        row[1].set_title("Grad-CAM (attended last block), hotspot, region", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
