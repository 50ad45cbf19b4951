"""NEU-DET camera defects (6 classes): CAM network, held-out stratified splits over seeds.

Split: per seed, a stratified 80/20 split of the images (the image is the unit; the one known
identical pair stays on one side). Reported per seed and as mean +- std: accuracy, macro-F1
and the pointing game (is the peak of the true class's activation map inside a box of that
class?) beside two localisation baselines that use no model at all: the image centre, and a
random point (expected hit rate = share of the image the true-class boxes cover). Many NEU
boxes are huge (pitted_surface boxes often cover > 90 %), so the pointing game is also given
on the "small-box" images whose true-class boxes cover at most half the image.

``train`` trains one model per seed (kept in ``cache_dir``; seed ``seed`` is also shipped);
``evaluate`` re-scores the kept models and checks the shipped model's reference predictions.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.core.models.camera_defect import (
    CameraDefectNet,
    normalise_grey_image,
    peak_position,
    resize_grey,
)
from pm_monitor.core.models.weights import load_weights, save_weights
from pm_monitor.datasets import neu_surface as data
from pm_monitor.report.metrics import accuracy, confusion_matrix, macro_f1
from pm_monitor.training import common

MODEL_NAME = "camera_defect"
SMALL_BOX_SHARE = 0.5  # "small-box" images: true-class boxes cover at most this share


# ------------------------------------------------------------------------------- data
def load_images(config: dict[str, Any]) -> dict[str, Any]:
    """Resized grey images, labels, files and boxes (images cached in cache_dir)."""
    size = int(config.get("image_size", 64))
    cache = common.repo_path(config.get("cache_dir", "results/tmp/neu_surface"))
    cache.mkdir(parents=True, exist_ok=True)
    images = data.list_images()
    path = cache / f"images_{size}.npy"
    if path.is_file():
        pixels = np.load(path)
    else:
        pixels = np.stack([resize_grey(data.load_image(im), size)
                           for im in tqdm(images, desc="NEU images", leave=False)])
        np.save(path, pixels)
    if len(pixels) != len(images):
        raise ValueError(f"{path} holds {len(pixels)} images, the data set {len(images)}: "
                         "delete the cache")
    return {"images": pixels, "labels": np.array([data.CLASSES.index(im.class_name)
                                                  for im in images]),
            "files": [im.file for im in images], "records": images}


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([normalise_grey_image(im) for im in images])[:, None])


def stratified_split(labels: np.ndarray, files: list[str], test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: test_fraction of every class, drawn with `seed`; the images of a
    known duplicate pair go to the same side (the second follows the first)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for class_index in np.unique(labels):
        members = np.flatnonzero(labels == class_index)
        n_test = round(test_fraction * members.size)
        test[rng.choice(members, size=n_test, replace=False)] = True
    position = {f: i for i, f in enumerate(files)}
    for first, second in data.KNOWN_DUPLICATES:
        if first in position and second in position:
            test[position[second]] = test[position[first]]
    return np.flatnonzero(~test), np.flatnonzero(test)


def flip_augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal / vertical flips of the whole batch (steel texture has no up)."""
    flips = torch.rand(2, generator=generator)
    if flips[0] < 0.5:
        batch = batch.flip(3)
    if flips[1] < 0.5:
        batch = batch.flip(2)
    return batch


def true_class_boxes(record: data.NeuImage) -> list[data.Box]:
    return [b for b in record.boxes if b.class_name == record.class_name]


def box_coverage(record: data.NeuImage) -> float:
    """Share of the image covered by the union of the true-class boxes."""
    mask = np.zeros((data.SIZE, data.SIZE), dtype=bool)
    for b in true_class_boxes(record):
        mask[b.y0:b.y1, b.x0:b.x1] = True
    return float(mask.mean())


def point_in_boxes(record: data.NeuImage, row: float, col: float) -> bool:
    """Is (row, col), in original 200x200 pixel units, inside a true-class box?"""
    return any(b.y0 <= row < b.y1 and b.x0 <= col < b.x1 for b in true_class_boxes(record))


def to_original(position: tuple[int, int], size: int) -> tuple[float, float]:
    """Centre of a model-resolution pixel in original pixel units."""
    scale = data.SIZE / size
    return (position[0] + 0.5) * scale, (position[1] + 0.5) * scale


# ------------------------------------------------------------------------------ train
def build_model(config: dict[str, Any]) -> CameraDefectNet:
    return CameraDefectNet(**_hyperparameters(config))


def _hyperparameters(config: dict[str, Any]) -> dict[str, Any]:
    return {"n_classes": len(data.CLASSES), "width": int(config.get("width", 8)),
            "dropout": float(config.get("dropout", 0.2))}


def seed_model_path(config: dict[str, Any], seed: int) -> Path:
    cache = common.repo_path(config.get("cache_dir", "results/tmp/neu_surface"))
    return cache / "seed_models" / f"seed{seed}.pt"


def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    start = time.perf_counter()
    arrays = load_images(config)
    inputs, labels = to_tensor(arrays["images"]), torch.from_numpy(arrays["labels"])
    curves = {}
    for seed in [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]:
        train_idx, test_idx = stratified_split(arrays["labels"], arrays["files"],
                                               float(config.get("test_fraction", 0.2)), seed)

        def monitor(model: torch.nn.Module, test_idx: np.ndarray = test_idx) -> float:
            probabilities = common.predict_probabilities(model, inputs[test_idx])
            return float((probabilities.argmax(1) == arrays["labels"][test_idx]).mean())

        common.seed_everything(seed)
        model = build_model(config)
        curves[f"seed {seed}"] = common.train_classifier(
            model, inputs[train_idx], labels[train_idx], epochs=int(config.get("epochs", 12)),
            batch_size=int(config.get("batch_size", 32)), lr=float(config.get("lr", 3e-3)),
            seed=seed, augment=flip_augment, monitor=monitor, desc=f"NEU seed {seed}")
        save_weights(model, seed_model_path(config, seed), model_name=MODEL_NAME,
                     hyperparameters=_hyperparameters(config), data="shared/data/neu_surface",
                     split=_split_text(config, seed), metrics={}, extra={"seed": seed})
    common.plot_learning_curves(curves, "held-out accuracy", out_dir / "learning_curves.png")
    metrics = _evaluate_seeds(config, out_dir, arrays)
    _ship(config, arrays, metrics)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    common.write_json(out_dir / "metrics.json", metrics)
    return metrics


def _split_text(config: dict[str, Any], seed: int) -> str:
    return (f"stratified {float(config.get('test_fraction', 0.2)):.0%} image hold-out drawn "
            f"with numpy default_rng({seed}) per class (stratified_split in "
            "pm_monitor/training/tasks/neu_surface.py); known duplicate pair kept together")


def _ship(config: dict[str, Any], arrays: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Copy the model of seed `seed` to the shipped path, with reference predictions on two
    of its held-out images (those images are test fixtures)."""
    seed = int(config.get("seed", 0))
    model = load_seed_model(config, seed)
    _, test_idx = stratified_split(arrays["labels"], arrays["files"],
                                   float(config.get("test_fraction", 0.2)), seed)
    reference = [int(test_idx[0]), int(test_idx[-1])]
    probabilities = common.predict_probabilities(model, to_tensor(arrays["images"][reference]))
    save_weights(
        model, common.repo_path(config["weights"]), model_name=MODEL_NAME,
        hyperparameters=_hyperparameters(config),
        data="shared/data/neu_surface (NEU-DET, 1800 grey 200x200 images, 6 classes)",
        split=_split_text(config, seed),
        metrics={key: metrics[key] for key in ("accuracy", "macro_f1", "pointing_game",
                                               "pointing_game_small_boxes")},
        extra={"class_names": list(data.CLASSES),
               "training": {**common.training_recipe(config,
                                                      ("seed", "epochs", "batch_size", "lr")),
                            "augment": "random horizontal / vertical flips"},
               "features": {"input": "grey 0..255 resized (PIL BOX) to "
                                     f"{int(config.get('image_size', 64))} px square",
                            "image_size": int(config.get("image_size", 64)),
                            "normalisation": "per image: (x - mean) / std"},
               "reference_predictions": common.reference_predictions(
                   [arrays["files"][i] for i in reference], probabilities, data.CLASSES)})


# --------------------------------------------------------------------------- evaluate
def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    start = time.perf_counter()
    metrics = _evaluate_seeds(config, out_dir, load_images(config))
    metrics["shipped_model_check"] = check_shipped_model(config)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    common.write_json(out_dir / "metrics.json", metrics)
    return metrics


def load_seed_model(config: dict[str, Any], seed: int) -> CameraDefectNet:
    path = seed_model_path(config, seed)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m pm_monitor.training.cli "
                                f"train pm_monitor/training/configs/neu_surface.yaml` first")
    model, _ = load_weights(CameraDefectNet, path, expected_model=MODEL_NAME)
    return model  # type: ignore[return-value]


def pointing_game(model: CameraDefectNet, inputs: torch.Tensor, records: list[data.NeuImage],
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    """(hit per image, CAM per image) for the true class's map."""
    classes = torch.tensor([data.CLASSES.index(r.class_name) for r in records])
    cams = torch.cat([model.class_activation_maps(chunk, cls) for chunk, cls in
                      zip(torch.split(inputs, 128), torch.split(classes, 128), strict=True)])
    hits = np.array([point_in_boxes(r, *to_original(peak_position(c.numpy()), size))
                     for r, c in zip(records, cams, strict=True)])
    return hits, cams.numpy()


def _evaluate_seeds(config: dict[str, Any], out_dir: Path,
                    arrays: dict[str, Any]) -> dict[str, Any]:
    size = int(config.get("image_size", 64))
    inputs = to_tensor(arrays["images"])
    records: list[data.NeuImage] = arrays["records"]
    coverage = np.array([box_coverage(r) for r in records])
    centre_hit = np.array([point_in_boxes(r, data.SIZE / 2, data.SIZE / 2) for r in records])
    seeds = [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]
    confusion = np.zeros((len(data.CLASSES),) * 2, dtype=np.int64)
    rows, results = [], {k: [] for k in ("acc", "f1", "pg", "pg_small", "centre", "random",
                                         "centre_small", "random_small")}
    examples = []
    for seed in tqdm(seeds, desc="evaluate seeds", leave=False):
        _, test_idx = stratified_split(arrays["labels"], arrays["files"],
                                       float(config.get("test_fraction", 0.2)), seed)
        model = load_seed_model(config, seed)
        predicted = common.predict_probabilities(model, inputs[test_idx]).argmax(axis=1)
        seed_confusion = confusion_matrix(arrays["labels"][test_idx], predicted,
                                          len(data.CLASSES))
        confusion += seed_confusion
        hits, cams = pointing_game(model, inputs[test_idx], [records[i] for i in test_idx],
                                   size)
        small = coverage[test_idx] <= SMALL_BOX_SHARE
        values = {"acc": accuracy(seed_confusion), "f1": macro_f1(seed_confusion),
                  "pg": hits.mean(), "pg_small": hits[small].mean(),
                  "centre": centre_hit[test_idx].mean(),
                  "random": coverage[test_idx].mean(),
                  "centre_small": centre_hit[test_idx][small].mean(),
                  "random_small": coverage[test_idx][small].mean()}
        for key, value in values.items():
            results[key].append(float(value))
        rows.append([str(seed), str(test_idx.size), str(int(small.sum()))]
                    + [f"{values[k]:.3f}" for k in ("acc", "f1", "pg", "centre", "random",
                                                    "pg_small", "centre_small",
                                                    "random_small")])
        if seed == seeds[0]:
            for class_index in range(len(data.CLASSES)):
                k = int(np.flatnonzero(arrays["labels"][test_idx] == class_index)[0])
                i = test_idx[k]
                examples.append((records[i], arrays["images"][i], cams[k],
                                 data.CLASSES[predicted[k]], bool(hits[k])))
    metrics = {
        "task": "neu_surface", "n_images": len(records), "seeds": seeds,
        "split": _split_text(config, seeds[0]).replace(f"({seeds[0]})", "(seed)"),
        "accuracy": common.mean_std(results["acc"]), "macro_f1": common.mean_std(results["f1"]),
        "pointing_game": common.mean_std(results["pg"]),
        "pointing_game_centre_baseline": common.mean_std(results["centre"]),
        "pointing_game_random_point_expected": common.mean_std(results["random"]),
        "pointing_game_small_boxes": common.mean_std(results["pg_small"]),
        "pointing_game_small_boxes_centre_baseline": common.mean_std(results["centre_small"]),
        "pointing_game_small_boxes_random_point_expected": common.mean_std(results["random_small"]),
        "confusion_all_seeds": confusion, "class_names": list(data.CLASSES),
    }
    common.plot_confusion_large(confusion, data.CLASSES, "NEU-DET: held-out images, all seeds",
                         out_dir / "confusion.png")
    plot_cam_examples(examples, size, out_dir / "cam_examples.png")
    header = ["seed", "test images", "small-box images", "accuracy", "macro-F1",
              "pointing game", "centre point", "random point", "PG small-box",
              "centre small-box", "random small-box"]
    summary = [[name, f"{metrics[key]['mean']:.3f}", f"{metrics[key]['std']:.3f}"]
               for name, key in (("accuracy", "accuracy"), ("macro-F1", "macro_f1"),
                                 ("pointing game (CAM peak)", "pointing_game"),
                                 ("  baseline: image centre", "pointing_game_centre_baseline"),
                                 ("  baseline: random point (expected)",
                                  "pointing_game_random_point_expected"),
                                 ("pointing game, small-box images",
                                  "pointing_game_small_boxes"),
                                 ("  baseline: image centre",
                                  "pointing_game_small_boxes_centre_baseline"),
                                 ("  baseline: random point (expected)",
                                  "pointing_game_small_boxes_random_point_expected"))]
    common.write_markdown(
        out_dir / "metrics.md", "NEU-DET surface defects: class and where (CAM)",
        [("Summary over seeds", ["metric", "mean", "std"], summary),
         ("Per seed", header, rows)],
        [f"Split: {metrics['split']}.",
         "Pointing game: the maximum of the true class's CAM (upsampled to the model input, "
         "mapped to 200x200 pixels) lies inside a box labelled with that class.",
         f"Small-box images: true-class boxes cover at most {SMALL_BOX_SHARE:.0%} of the image "
         "(large boxes make any point a hit).",
         "Images are normalised per image (mean 0, std 1): the class-dependent grey level is "
         "not a cue."])
    return metrics


def plot_cam_examples(examples: list[tuple[data.NeuImage, np.ndarray, np.ndarray, str, bool]],
                      size: int, path: Path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(11, 7.6))
    scale = size / data.SIZE
    for ax, (record, image, cam, predicted, hit) in zip(axes.flat, examples, strict=False):
        ax.imshow(image, cmap="gray")
        ax.imshow(cam, cmap="jet", alpha=0.4)
        for b in record.boxes:
            colour = "white" if b.class_name == record.class_name else "magenta"
            ax.add_patch(plt.Rectangle((b.x0 * scale - 0.5, b.y0 * scale - 0.5),
                                       (b.x1 - b.x0) * scale, (b.y1 - b.y0) * scale,
                                       fill=False, color=colour, linewidth=1.2))
        row, col = peak_position(cam)
        ax.plot(col, row, "w+" if hit else "rx", markersize=12, markeredgewidth=2)
        ax.set_title(f"{record.file.split('/')[-1]}\npredicted {predicted}; peak "
                     f"{'in' if hit else 'NOT in'} a true-class box", fontsize=8)
        ax.set_axis_off()
    fig.suptitle("CAM of the true class over held-out images (white boxes: true class, "
                 "magenta: other defects)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def check_shipped_model(config: dict[str, Any]) -> dict[str, Any]:
    """Re-predict the shipped model's reference images from the data set; compare."""
    model, meta = load_weights(CameraDefectNet, common.repo_path(config["weights"]),
                               expected_model=MODEL_NAME)
    by_file = {im.file: im for im in data.list_images()}
    worst, agree = 0.0, 0
    for ref in meta["reference_predictions"]:
        image = resize_grey(data.load_image(by_file[ref["file"]]),
                            int(meta["features"]["image_size"]))
        probabilities = common.predict_probabilities(model, to_tensor(image[None]))[0]
        worst = max(worst, float(np.abs(probabilities - np.array(ref["probabilities"])).max()))
        agree += int(meta["class_names"][int(probabilities.argmax())] == ref["predicted"])
    return {"reference_images": len(meta["reference_predictions"]),
            "predictions_agree": agree, "max_probability_difference": worst}
