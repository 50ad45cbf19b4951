"""Thermal motor (11 conditions): compact ResNet + spatial attention + Grad-CAM, block-split.

Each class of the data set is ONE session of consecutive, near-identical frames, so the split
unit is a contiguous frame block: every class is cut into ``n_folds`` blocks and fold k tests
on block k of every class, trained on the others (never a random frame split). Reported:
accuracy mean +- std over folds (and seeds), a brightness-only baseline (mean palette index ->
linear classifier) beside it, and the share of Grad-CAM mass inside the motor's bounding box
(marked once by eye: the camera pose is fixed) against the box's share of the image (what a
uniform heatmap would score).

``train`` trains the fold models (kept in ``cache_dir`` for ``evaluate`` and the robustness
task) and, if the config names ``weights``, the shipped model on all frames; ``evaluate``
re-scores the kept fold models and checks the shipped model against its recorded reference
predictions (ablation configs without ``weights`` ship and check nothing).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from pm_monitor.core.explain.gradcam import grad_cam
from pm_monitor.core.models.thermal_classifier import (
    downscale,
    normalise_palette_frame,
)
from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.core.models.weights import load_weights, save_weights
from pm_monitor.datasets import thermal_motor as data
from pm_monitor.report.metrics import accuracy, confusion_matrix, macro_f1
from pm_monitor.training.common import (
    LinearBaseline,
    mean_std,
    plot_confusion_large,
    plot_learning_curves,
    predict_probabilities,
    reference_predictions,
    repo_path,
    seed_everything,
    train_classifier,
    training_recipe,
    write_json,
    write_markdown,
)

MODEL_NAME = "thermal_classifier"
N_REFERENCE_SAMPLES = 3
TRAINING_KEYS = ("seed", "epochs", "batch_size", "lr", "augment_shift_px", "augment_gain")


# ----------------------------------------------------------------- augmentation
def random_gain(batch: torch.Tensor, generator: torch.Generator, max_gain: float) -> torch.Tensor:
    """Scale each median-subtracted frame by a factor in [1 - max_gain, 1 + max_gain].

    On the normalised input a brightness (x * g) or contrast change (around the frame mean) of
    the palette index is exactly such a scaling (up to clipping), so this one augmentation covers
    both; 0 turns it off."""
    if max_gain <= 0.0:
        return batch
    factors = 1.0 + max_gain * (2.0 * torch.rand(batch.shape[0], generator=generator) - 1.0)
    return batch * factors.view(-1, 1, 1, 1)


def random_shift(batch: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Roll the whole batch by one random (dy, dx) of at most max_shift pixels."""
    dy, dx = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,),
                                            generator=generator))
    return torch.roll(batch, shifts=(dy, dx), dims=(2, 3))


# ------------------------------------------------------------------------------- data
def load_frames(config: dict[str, Any]) -> dict[str, np.ndarray]:
    """Downscaled palette-index frames, labels, fold blocks and files (cached in cache_dir)."""
    factor = int(config.get("downscale", 5))
    n_folds = int(config.get("n_folds", 5))
    cache = repo_path(config.get("cache_dir", "results/tmp/thermal_motor"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"frames_x{factor}_f{n_folds}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return {key: stored[key] for key in stored.files}
    frames = data.list_frames()
    names = sorted(data.class_names())
    images = np.stack([downscale(data.load_palette_index(f), factor)
                       for f in tqdm(frames, desc="thermal frames", leave=False)])
    arrays = {
        "images": images.astype(np.float32),  # palette index 0..241, block-averaged
        "labels": np.array([names.index(f.class_name) for f in frames], dtype=np.int64),
        "blocks": np.array(data.frame_blocks(frames, n_folds), dtype=np.int64),
        "files": np.array([f.file for f in frames]),
        "class_names": np.array(names),
    }
    np.savez_compressed(path, **arrays)
    return arrays


def to_tensor(palette_frames: np.ndarray) -> torch.Tensor:
    """(N, H, W) palette index -> (N, 1, H, W) normalised model input."""
    return torch.from_numpy(np.stack([normalise_palette_frame(f) for f in palette_frames])[:, None])


def fold_split(blocks: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): test = frame block `fold` of every session."""
    test = np.flatnonzero(blocks == fold)
    train = np.flatnonzero(blocks != fold)
    if test.size == 0 or train.size == 0:
        raise ValueError(f"fold {fold} leaves one side empty")
    return train, test


def motor_box(config: dict[str, Any], factor: int) -> tuple[int, int, int, int]:
    """The motor's (x0, y0, x1, y1) box (half-open) at the downscaled resolution."""
    x0, y0, x1, y1 = (int(v) for v in config["motor_box_xyxy"])
    return x0 // factor, y0 // factor, -(-x1 // factor), -(-y1 // factor)


def gradcam_mass_in_box(model: ThermalResNet, images: torch.Tensor,
                        box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Share of each image's Grad-CAM mass (predicted class) inside the box; and the maps."""
    x0, y0, x1, y1 = box
    shares, maps = [], []
    for image in images:
        heatmap = grad_cam(model, model.gradcam_layer, image[None]).heatmap
        total = float(heatmap.sum())
        shares.append(float(heatmap[y0:y1, x0:x1].sum()) / total if total > 0 else np.nan)
        maps.append(heatmap)
    return np.array(shares), np.stack(maps)


def brightness_feature(palette_frames: np.ndarray) -> np.ndarray:
    """Mean palette index of each frame: the shortcut the CNN must beat."""
    return palette_frames.reshape(len(palette_frames), -1).mean(axis=1, keepdims=True)


def build_model(config: dict[str, Any], n_classes: int) -> ThermalResNet:
    return ThermalResNet(n_classes=n_classes, width=int(config.get("width", 16)),
                             dropout=float(config.get("dropout", 0.2)))


def _fit(config: dict[str, Any], images: torch.Tensor, labels: torch.Tensor, n_classes: int,
         seed: int, monitor: Callable[[nn.Module], float] | None, desc: str
         ) -> tuple[ThermalResNet, dict[str, list[float]]]:
    seed_everything(seed)
    model = build_model(config, n_classes)
    shift = int(config.get("augment_shift_px", 2))
    gain = float(config.get("augment_gain", 0.0))

    def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_gain(random_shift(batch, generator, shift), generator, gain)

    history = train_classifier(
        model, images, labels, epochs=int(config.get("epochs", 20)),
        batch_size=int(config.get("batch_size", 32)), lr=float(config.get("lr", 3e-3)),
        seed=seed, augment=augment, monitor=monitor, desc=desc)
    return model, history


def fold_model_path(config: dict[str, Any], fold: int, seed: int) -> Path:
    cache = repo_path(config.get("cache_dir", "results/tmp/thermal_motor"))
    return cache / "fold_models" / f"fold{fold}_seed{seed}.pt"


# ------------------------------------------------------------------------------ train
def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    start = time.perf_counter()
    arrays = load_frames(config)
    n_classes = len(arrays["class_names"])
    inputs, labels = to_tensor(arrays["images"]), torch.from_numpy(arrays["labels"])
    curves: dict[str, dict[str, list[float]]] = {}
    seeds = [int(s) for s in config.get("seeds", [0])]
    for fold in range(int(config.get("n_folds", 5))):
        train_idx, test_idx = fold_split(arrays["blocks"], fold)
        for seed in seeds:
            def monitor(model: nn.Module, test_idx: np.ndarray = test_idx) -> float:
                probabilities = predict_probabilities(model, inputs[test_idx])
                return float((probabilities.argmax(1) == arrays["labels"][test_idx]).mean())

            model, history = _fit(config, inputs[train_idx], labels[train_idx], n_classes,
                                  seed + 1000 * fold, monitor, f"fold {fold} seed {seed}")
            curves[f"fold {fold} seed {seed}"] = history
            path = fold_model_path(config, fold, seed)
            save_weights(model, path, model_name=MODEL_NAME,
                         hyperparameters=_hyperparameters(config, n_classes),
                         data="shared/data/thermal_motor", split=f"block fold {fold}",
                         metrics={}, extra={"fold": fold, "seed": seed})
    plot_learning_curves(curves, "held-out block accuracy", out_dir / "learning_curves.png")
    metrics = _evaluate_folds(config, out_dir, arrays)
    metrics["train_seconds"] = round(time.perf_counter() - start, 1)
    if config.get("weights"):  # ablation configs ship nothing
        # the shipped model: every frame, seed of the config; its numbers are the fold estimates
        model, _ = _fit(config, inputs, labels, n_classes, int(config.get("seed", 0)), None,
                        "shipped model (all frames)")
        _save_shipped(config, model, arrays, metrics)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _hyperparameters(config: dict[str, Any], n_classes: int) -> dict[str, Any]:
    return {"n_classes": n_classes, "width": int(config.get("width", 16)),
            "dropout": float(config.get("dropout", 0.2))}


def _save_shipped(config: dict[str, Any], model: ThermalResNet,
                  arrays: dict[str, np.ndarray], metrics: dict[str, Any]) -> None:
    """Weights + metadata, with the predictions on a few frames so a test can re-check them
    (those frames are copied to test/fixtures/thermal_motor/)."""
    reference = _reference_files(arrays)
    index = [list(arrays["files"]).index(f) for f in reference]
    probabilities = predict_probabilities(model, to_tensor(arrays["images"][index]))
    names = [str(n) for n in arrays["class_names"]]
    save_weights(
        model, repo_path(config["weights"]), model_name=MODEL_NAME,
        hyperparameters=_hyperparameters(config, len(names)),
        data="shared/data/thermal_motor (369 frames, 11 sessions), all frames",
        split=f"shipped model trained on all frames; metrics are {config.get('n_folds', 5)}-fold"
              " contiguous-frame-block cross-validation (fold k tests block k of every session)",
        metrics={key: metrics[key] for key in ("cnn_accuracy", "brightness_baseline_accuracy",
                                               "gradcam_mass_in_motor_box", "box_area_share")},
        extra={"class_names": names, "training": training_recipe(config, TRAINING_KEYS),
               "features": {"input": "palette index 0..241 (relative, not deg C)",
                            "downscale": int(config.get("downscale", 5)),
                            "normalisation": "index/241 - frame median, / 0.1"},
               "motor_box_xyxy_full_res": list(config["motor_box_xyxy"]),
               "reference_predictions": reference_predictions(reference, probabilities,
                                                              names)})


def _reference_files(arrays: dict[str, np.ndarray]) -> list[str]:
    """One frame from the middle of a few sessions (first, middle and last class)."""
    names = list(arrays["class_names"])
    picks = [names[0], names[len(names) // 2], names[-1]][:N_REFERENCE_SAMPLES]
    files = []
    for name in picks:
        members = np.flatnonzero(arrays["class_names"][arrays["labels"]] == name)
        files.append(str(arrays["files"][members[len(members) // 2]]))
    return files


# --------------------------------------------------------------------------- evaluate
def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Re-score the kept fold models (held-out blocks) and check the shipped model."""
    start = time.perf_counter()
    metrics = _evaluate_folds(config, out_dir, load_frames(config))
    if config.get("weights"):
        metrics["shipped_model_check"] = check_shipped_model(config)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def load_fold_model(config: dict[str, Any], fold: int, seed: int) -> ThermalResNet:
    path = fold_model_path(config, fold, seed)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m pm_monitor.training.cli "
                                f"train pm_monitor/training/configs/thermal_motor.yaml` first")
    model, _ = load_weights(ThermalResNet, path, expected_model=MODEL_NAME)
    return model  # type: ignore[return-value]


def _evaluate_folds(config: dict[str, Any], out_dir: Path,
                    arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    factor = int(config.get("downscale", 5))
    names = tuple(str(n) for n in arrays["class_names"])
    inputs = to_tensor(arrays["images"])
    box = motor_box(config, factor)
    height, width = arrays["images"].shape[1:]
    box_share = (box[2] - box[0]) * (box[3] - box[1]) / (height * width)
    seeds = [int(s) for s in config.get("seeds", [0])]
    rows, accuracies, baseline_accuracies, mass = [], [], [], []
    confusion = np.zeros((len(names), len(names)), dtype=np.int64)
    examples: list[tuple[str, np.ndarray, np.ndarray]] = []
    for fold in tqdm(range(int(config.get("n_folds", 5))), desc="evaluate folds", leave=False):
        train_idx, test_idx = fold_split(arrays["blocks"], fold)
        baseline = LinearBaseline(brightness_feature(arrays["images"][train_idx]),
                                  arrays["labels"][train_idx], len(names))
        baseline_acc = float((baseline.predict(brightness_feature(arrays["images"][test_idx]))
                              == arrays["labels"][test_idx]).mean())
        baseline_accuracies.append(baseline_acc)
        for seed in seeds:
            model = load_fold_model(config, fold, seed)
            predicted = predict_probabilities(model, inputs[test_idx]).argmax(axis=1)
            fold_confusion = confusion_matrix(arrays["labels"][test_idx], predicted, len(names))
            confusion += fold_confusion
            shares, maps = gradcam_mass_in_box(model, inputs[test_idx], box)
            accuracies.append(accuracy(fold_confusion))
            mass.append(float(np.nanmean(shares)))
            rows.append([str(fold), str(seed), str(test_idx.size),
                         f"{accuracy(fold_confusion):.3f}", f"{macro_f1(fold_confusion):.3f}",
                         f"{baseline_acc:.3f}", f"{np.nanmean(shares):.3f}"])
            if seed == seeds[0]:  # one held-out frame of two sessions per fold
                for k in _example_positions(arrays["labels"][test_idx], fold, len(names)):
                    i = test_idx[k]
                    examples.append((f"fold {fold}: {names[arrays['labels'][i]]} -> "
                                     f"{names[predicted[k]]}", arrays["images"][i], maps[k]))
    metrics = {
        "task": "thermal_motor", "n_frames": len(arrays["labels"]),
        "split": f"{config.get('n_folds', 5)} folds of contiguous frame blocks per session",
        "seeds": seeds,
        "cnn_accuracy": mean_std(accuracies),
        "brightness_baseline_accuracy": mean_std(baseline_accuracies),
        "gradcam_mass_in_motor_box": mean_std(mass),
        "box_area_share": round(box_share, 4),
        "confusion_all_folds": confusion, "class_names": list(names),
        "per_fold": [dict(zip(["fold", "seed", "n_test", "accuracy", "macro_f1",
                               "brightness_baseline", "gradcam_mass_in_box"], r, strict=True))
                     for r in rows],
    }
    plot_confusion_large(confusion, names, "thermal motor: all held-out blocks, all seeds",
                         out_dir / "confusion.png")
    plot_heatmap_examples(examples, box, out_dir / "gradcam_examples.png")
    summary = metrics["cnn_accuracy"]
    write_markdown(
        out_dir / "metrics.md", "Thermal motor: 11 conditions, contiguous-block folds",
        [("Summary", ["metric", "mean", "std", "n"], [
            ["CNN accuracy", f"{summary['mean']:.3f}", f"{summary['std']:.3f}",
             str(summary["n"])],
            ["brightness-only baseline accuracy",
             f"{metrics['brightness_baseline_accuracy']['mean']:.3f}",
             f"{metrics['brightness_baseline_accuracy']['std']:.3f}",
             str(metrics["brightness_baseline_accuracy"]["n"])],
            ["Grad-CAM mass inside the motor box",
             f"{metrics['gradcam_mass_in_motor_box']['mean']:.3f}",
             f"{metrics['gradcam_mass_in_motor_box']['std']:.3f}",
             str(metrics["gradcam_mass_in_motor_box"]["n"])],
            ["motor box share of the image (uniform map)", f"{box_share:.3f}", "", ""]]),
         ("Per fold", ["fold", "seed", "test frames", "accuracy", "macro-F1",
                       "brightness baseline", "Grad-CAM mass in box"], rows)],
        ["Folds: each session cut into contiguous frame blocks; fold k tests block k of every "
         "session. Neighbouring frames are near-identical, so even block splits are optimistic.",
         "Brightness baseline: mean palette index of the frame -> multinomial logistic "
         "regression, fitted on the training blocks.",
         "Grad-CAM of the predicted class on the attended last block; mass = share of the "
         "heatmap's sum inside the motor box (marked by eye, full-res x,y "
         f"{list(config['motor_box_xyxy'])})."])
    return metrics


def _example_positions(test_labels: np.ndarray, fold: int, n_classes: int) -> list[int]:
    """Positions (in the fold's test set) of the middle frame of two sessions, rotating over
    the sessions from fold to fold so the figure shows many conditions."""
    positions = []
    for class_index in ((2 * fold) % n_classes, (2 * fold + 1) % n_classes):
        members = np.flatnonzero(test_labels == class_index)
        if members.size:
            positions.append(int(members[members.size // 2]))
    return positions


def plot_heatmap_examples(examples: list[tuple[str, np.ndarray, np.ndarray]],
                          box: tuple[int, int, int, int], path: Path) -> None:
    columns = 3
    rows = max(1, -(-len(examples) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    x0, y0, x1, y1 = box
    for ax, (title, frame, heatmap) in zip(axes.flat, examples, strict=False):
        ax.imshow(frame, cmap="gray")  # own scale: cold sessions are nearly black at 0..241
        ax.imshow(heatmap, cmap="jet", alpha=0.45, vmin=0.0, vmax=1.0)
        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                   color="white", linestyle="--"))
        ax.set_title(title, fontsize=8)
    fig.suptitle("Grad-CAM (predicted class) over held-out frames; dashed: motor box", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def check_shipped_model(config: dict[str, Any]) -> dict[str, Any]:
    """Re-predict the shipped model's reference frames from the data set; compare to metadata."""
    model, meta = load_weights(ThermalResNet, repo_path(config["weights"]),
                               expected_model=MODEL_NAME)
    factor = int(meta["features"]["downscale"])
    frames = {f.file: f for f in data.list_frames()}
    worst = 0.0
    agree = 0
    for ref in meta["reference_predictions"]:
        frame = downscale(data.load_palette_index(frames[ref["file"]]), factor)
        probabilities = predict_probabilities(model, to_tensor(frame[None]))[0]
        worst = max(worst, float(np.abs(probabilities - np.array(ref["probabilities"])).max()))
        agree += int(meta["class_names"][int(probabilities.argmax())] == ref["predicted"])
    return {"reference_frames": len(meta["reference_predictions"]), "predictions_agree": agree,
            "max_probability_difference": worst}
