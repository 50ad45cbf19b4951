"""MIMII machine sound: acoustic anomaly score from a spectrogram autoencoder, per machine id.

DCASE task 2 practice on the small MIMII subset: for fan id_00 and fan id_02 (the only ids with
training clips) an autoencoder is trained on the ``split == "train"`` NORMAL clips only, on
log-mel patches (STFT n_fft 2048, hop 1024 = 50 % overlap, [P2]; 64 mel bands, 32-frame
patches, standardised per band with training statistics). A clip's score is the mean patch
reconstruction error. Reported on the ``test`` clips per id: AUROC, pAUC (FPR <= 0.1, McClish
standardised, as scikit-learn's ``max_fpr``) and a bootstrap interval, mean +- std over seeds,
beside an RMS-loudness baseline (louder = more anomalous) and the rank correlation of the score
with loudness (is the model just a loudness meter?).

The other machines (1 normal + 1 anomalous clip per id, no training clips) are end-to-end checks
only: a model is fitted on the first half of the normal clip and scores the second halves of the
normal and the anomalous clip; no metric is claimed from them.
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

from pm_monitor.core.features.spectrogram import SpectrogramConfig, log_mel_spectrogram
from pm_monitor.core.models.acoustic_anomaly import (
    MODEL_NAME,
    BandStandardiser,
    SpectrogramAutoencoder,
    clip_score,
    load_acoustic_model,
    patches_of,
    spectrogram_score,
)
from pm_monitor.core.models.weights import save_weights
from pm_monitor.datasets import machine_sound as data
from pm_monitor.report.metrics import auroc
from pm_monitor.training.common import (
    mean_std,
    repo_path,
    seed_everything,
    training_recipe,
    write_json,
    write_markdown,
)

EVALUATED_MACHINES = ("fan/id_00", "fan/id_02")


# --------------------------------------------------------------------------- features
def spectrogram_config(config: dict[str, Any]) -> SpectrogramConfig:
    return SpectrogramConfig(sample_rate_hz=float(data.SAMPLE_RATE_HZ),
                             n_fft=int(config.get("n_fft", 2048)),
                             hop=int(config.get("hop", 1024)),
                             n_mels=int(config.get("n_mels", 64)))


def rms_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(np.square(samples)))), 1e-12)))


def partial_auroc(scores: np.ndarray, positive: np.ndarray, max_fpr: float = 0.1) -> float:
    """McClish-standardised partial AUROC over FPR in [0, max_fpr] (scikit-learn's max_fpr):
    0.5 = chance, 1 = perfect."""
    scores, positive = np.asarray(scores, dtype=float), np.asarray(positive, dtype=bool)
    thresholds = np.unique(scores)[::-1]
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    tpr = np.concatenate([[0.0], [(scores[positive] >= t).sum() / n_pos for t in thresholds]])
    fpr = np.concatenate([[0.0], [(scores[~positive] >= t).sum() / n_neg for t in thresholds]])
    stop = np.searchsorted(fpr, max_fpr, side="right")
    x, y = fpr[:stop], tpr[:stop]
    if stop < fpr.size:  # interpolate the curve at max_fpr
        x = np.append(x, max_fpr)
        y = np.append(y, np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1]))
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    min_area, max_area = 0.5 * max_fpr ** 2, max_fpr
    return 0.5 * (1 + (area - min_area) / (max_area - min_area))


def bootstrap_auroc(scores: np.ndarray, positive: np.ndarray, n: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of AUROC, resampling normals and anomalies separately."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~np.asarray(positive, dtype=bool))
    values = []
    for _ in range(n):
        index = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        values.append(auroc(scores[index], np.asarray(positive)[index]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    rank_a = np.argsort(np.argsort(a)).astype(float)
    rank_b = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


# ------------------------------------------------------------------------------ data
def load_machine(machine: str, config: dict[str, Any]) -> dict[str, Any]:
    """Clips of one machine id: samples, labels, split (audio cached as float32)."""
    cache = repo_path(config.get("cache_dir", "results/tmp/machine_sound"))
    cache.mkdir(parents=True, exist_ok=True)
    clips = [c for c in data.list_clips() if c.machine == machine]
    if not clips:
        raise ValueError(f"no clips for machine {machine!r} in machine_sound/labels.csv")
    path = cache / f"{machine.replace('/', '_')}.npy"
    if path.is_file():
        samples = np.load(path)
    else:
        samples = np.stack([data.load_clip(c) for c in clips])
        np.save(path, samples)
    return {"clips": clips, "samples": samples,
            "anomaly": np.array([c.label == "anomaly" for c in clips]),
            "train": np.array([c.split == "train" for c in clips])}


def fit_autoencoder(train_samples: list[np.ndarray], config: dict[str, Any], seed: int,
                    epochs: int | None = None, desc: str = "AE"
                    ) -> tuple[SpectrogramAutoencoder, BandStandardiser, list[float]]:
    """Autoencoder + band standardiser fitted on normal training audio only."""
    spec_config = spectrogram_config(config)
    spectrograms = [log_mel_spectrogram(s, spec_config) for s in train_samples]
    standardiser = BandStandardiser.fit(spectrograms)
    n_frames = int(config.get("patch_frames", 32))
    patches = np.concatenate([patches_of(standardiser(s), n_frames,
                                         int(config.get("train_patch_hop", 2)))
                              for s in spectrograms])
    generator = seed_everything(seed)
    model = SpectrogramAutoencoder(**_hyperparameters(config))
    inputs = torch.from_numpy(patches[:, None])
    optimiser = torch.optim.AdamW(model.parameters(), lr=float(config.get("lr", 1e-3)),
                                  weight_decay=1e-4)
    batch_size = int(config.get("batch_size", 32))
    losses = []
    for _ in tqdm(range(epochs or int(config.get("epochs", 30))), desc=desc, leave=False):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for first in range(0, len(inputs), batch_size):
            batch = inputs[order[first:first + batch_size]]
            if len(batch) < 2:
                continue
            loss = ((model(batch) - batch) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        losses.append(total / len(inputs))
    model.eval()
    return model, standardiser, losses


def _hyperparameters(config: dict[str, Any]) -> dict[str, Any]:
    return {"n_bands": int(config.get("n_mels", 64)),
            "n_frames": int(config.get("patch_frames", 32)),
            "width": int(config.get("width", 8)), "code_size": int(config.get("code_size", 32))}


def model_path(config: dict[str, Any], machine: str, seed: int) -> Path:
    cache = repo_path(config.get("cache_dir", "results/tmp/machine_sound"))
    return cache / "seed_models" / f"{machine.replace('/', '_')}_seed{seed}.pt"


def save_model(path: Path, model: SpectrogramAutoencoder, standardiser: BandStandardiser,
               config: dict[str, Any], machine: str, metrics: dict[str, Any],
               extra: dict[str, Any] | None = None) -> None:
    save_weights(model, path, model_name=MODEL_NAME, hyperparameters=_hyperparameters(config),
                 data=f"shared/data/machine_sound (MIMII subset) {machine}",
                 split="trained on the split == 'train' normal clips of this machine id only; "
                       "scored on its split == 'test' clips (normal + anomaly)",
                 metrics=metrics,
                 extra={"machine": machine,
                        "features": {**spectrogram_config(config).as_dict(),
                                     "patch_frames": int(config.get("patch_frames", 32)),
                                     "score_patch_hop": int(config.get("score_patch_hop", 4)),
                                     "band_mean": standardiser.mean.round(5),
                                     "band_std": standardiser.std.round(5)},
                        **(extra or {})})


def load_model(path: Path) -> tuple[SpectrogramAutoencoder, BandStandardiser, dict[str, Any]]:
    """`load_acoustic_model`, with a hint at the command that makes the file if it is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m pm_monitor.training.cli "
                                "train pm_monitor/training/configs/machine_sound.yaml` first")
    model, standardiser, _, meta = load_acoustic_model(path)
    return model, standardiser, meta


# ------------------------------------------------------------------------------ train
def train(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    start = time.perf_counter()
    curves = {}
    for machine in EVALUATED_MACHINES:
        arrays = load_machine(machine, config)
        train_audio = list(arrays["samples"][arrays["train"]])
        for seed in [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]:
            model, standardiser, losses = fit_autoencoder(train_audio, config, seed,
                                                          desc=f"{machine} seed {seed}")
            curves[f"{machine} seed {seed}"] = losses
            save_model(model_path(config, machine, seed), model, standardiser, config,
                       machine, metrics={}, extra={"seed": seed})
    plot_loss_curves(curves, out_dir / "learning_curves.png")
    metrics = _evaluate_machines(config, out_dir)
    _ship(config, metrics)
    metrics["end_to_end_checks"] = end_to_end_checks(config)
    _write_markdown(out_dir, metrics)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _ship(config: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Ship the model of seed `seed` per machine id, with its score on two reference
    snippets (a normal and an anomalous test clip's first patch: the test fixtures)."""
    seed = int(config.get("seed", 0))
    spec_config = spectrogram_config(config)
    n_frames = int(config.get("patch_frames", 32))
    snippet = (n_frames - 1) * spec_config.hop + spec_config.n_fft
    for machine in EVALUATED_MACHINES:
        model, standardiser, _ = load_model(model_path(config, machine, seed))
        arrays = load_machine(machine, config)
        test = ~arrays["train"]
        references = []
        for is_anomaly in (False, True):
            i = int(np.flatnonzero(test & (arrays["anomaly"] == is_anomaly))[0])
            score = clip_score(model, standardiser, arrays["samples"][i][:snippet], spec_config,
                               int(config.get("score_patch_hop", 4)))
            references.append({"file": arrays["clips"][i].file, "first_samples": snippet,
                               "label": arrays["clips"][i].label, "score": round(score, 6)})
        path = repo_path(config["weights_dir"]) / f"{machine.replace('/', '_')}.pt"
        save_model(path, model, standardiser, config, machine,
                   metrics=metrics["per_machine"][machine],
                   extra={"seed": seed, "reference_scores": references,
                          "training": training_recipe(config, ("epochs", "batch_size", "lr",
                                                               "train_patch_hop"))})


def plot_loss_curves(curves: dict[str, list[float]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, losses in curves.items():
        ax.plot(np.arange(1, len(losses) + 1), losses, label=name,
                linestyle="-" if "id_00" in name else "--")
    ax.set(xlabel="epoch", ylabel="reconstruction MSE (standardised log-mel)",
           title="autoencoder training loss (normal training clips only)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- evaluate
def evaluate(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    start = time.perf_counter()
    metrics = _evaluate_machines(config, out_dir)
    metrics["shipped_model_check"] = check_shipped_models(config)
    metrics["end_to_end_checks"] = end_to_end_checks(config)  # fits on 5 s: part of the check
    _write_markdown(out_dir, metrics)
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def log_mels(config: dict[str, Any], samples: np.ndarray) -> list[np.ndarray]:
    """Log-mel spectrogram of each clip (rows of `samples`), computed once for all seeds."""
    spec_config = spectrogram_config(config)
    return [log_mel_spectrogram(s, spec_config) for s in samples]


def score_machine(config: dict[str, Any], machine: str, seed: int,
                  spectrograms: list[np.ndarray]) -> np.ndarray:
    """Anomaly scores of clips (their `log_mels`) by the kept model of (machine, seed)."""
    model, standardiser, _ = load_model(model_path(config, machine, seed))
    hop = int(config.get("score_patch_hop", 4))
    return np.array([spectrogram_score(model, standardiser, s, hop) for s in spectrograms])


def _evaluate_machines(config: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    seeds = [int(s) for s in config.get("seeds", [0, 1, 2, 3, 4])]
    per_machine, roc_data = {}, {}
    for machine in tqdm(EVALUATED_MACHINES, desc="evaluate machines", leave=False):
        arrays = load_machine(machine, config)
        test = ~arrays["train"]
        positive = arrays["anomaly"][test]
        loudness = np.array([rms_dbfs(s) for s in arrays["samples"][test]])
        spectrograms = log_mels(config, arrays["samples"][test])
        aurocs, paucs, correlations, intervals = [], [], [], []
        for seed in seeds:
            scores = score_machine(config, machine, seed, spectrograms)
            aurocs.append(auroc(scores, positive))
            paucs.append(partial_auroc(scores, positive))
            correlations.append(spearman(scores, loudness))
            intervals.append(bootstrap_auroc(scores, positive, seed=seed))
            if seed == seeds[0]:
                roc_data[machine] = (scores, loudness, positive)
        per_machine[machine] = {
            "n_train_normal": int(arrays["train"].sum()),
            "n_test_normal": int((~positive).sum()), "n_test_anomaly": int(positive.sum()),
            "autoencoder_auroc": mean_std(aurocs), "autoencoder_pauc_0.1": mean_std(paucs),
            f"autoencoder_auroc_95ci_seed{seeds[0]}": intervals[0],
            "rms_baseline_auroc": auroc(loudness, positive),
            "rms_baseline_pauc_0.1": partial_auroc(loudness, positive),
            "rms_baseline_auroc_95ci": bootstrap_auroc(loudness, positive),
            "spearman_score_vs_rms": mean_std(correlations),
        }
    plot_roc(roc_data, out_dir / "roc.png")
    return {"task": "machine_sound", "seeds": seeds,
            "features": spectrogram_config(config).as_dict(),
            "per_machine": per_machine,
            "mean_autoencoder_auroc_over_ids": float(np.mean(
                [m["autoencoder_auroc"]["mean"] for m in per_machine.values()])),
            "mean_rms_auroc_over_ids": float(np.mean(
                [m["rms_baseline_auroc"] for m in per_machine.values()]))}


def roc_points(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    thresholds = np.unique(scores)[::-1]
    fpr = [0.0] + [float((scores[~positive] >= t).mean()) for t in thresholds]
    tpr = [0.0] + [float((scores[positive] >= t).mean()) for t in thresholds]
    return np.array(fpr), np.array(tpr)


def plot_roc(roc_data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    fig, axes = plt.subplots(1, len(roc_data), figsize=(4.6 * len(roc_data), 4.2),
                             squeeze=False)
    for ax, (machine, (scores, loudness, positive)) in zip(axes[0], roc_data.items(),
                                                           strict=True):
        for name, values in (("autoencoder", scores), ("RMS loudness", loudness)):
            fpr, tpr = roc_points(values, positive)
            ax.plot(fpr, tpr, drawstyle="steps-post",
                    label=f"{name} (AUROC {auroc(values, positive):.2f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate",
               title=f"{machine}: {int((~positive).sum())} normal, {int(positive.sum())} "
                     "anomalous test clips")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("MIMII fan, 0 dB factory noise (first seed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def end_to_end_checks(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every other machine id: fit on the normal clip's first half, score the second halves of
    the normal and the (0 dB) anomalous clip. A smoke test, not a metric (1 + 1 clips)."""
    machines = sorted({c.machine for c in data.list_clips()} - set(EVALUATED_MACHINES))
    spec_config = spectrogram_config(config)
    hop = int(config.get("score_patch_hop", 4))
    results = []
    for machine in tqdm(machines, desc="end-to-end checks", leave=False):
        arrays = load_machine(machine, config)
        clips, samples = arrays["clips"], arrays["samples"]
        normal = next(i for i, c in enumerate(clips) if c.label == "normal")
        anomaly = next((i for i, c in enumerate(clips) if c.label == "anomaly"
                        and c.snr_db == clips[normal].snr_db), None)
        if anomaly is None:
            continue
        half = samples.shape[1] // 2
        model, standardiser, _ = fit_autoencoder([samples[normal][:half]], config, 0,
                                                 epochs=int(config.get("check_epochs", 10)),
                                                 desc=machine)
        normal_score = clip_score(model, standardiser, samples[normal][half:], spec_config, hop)
        anomaly_score = clip_score(model, standardiser, samples[anomaly][half:], spec_config,
                                   hop)
        results.append({"machine": machine, "normal_score": round(normal_score, 4),
                        "anomaly_score": round(anomaly_score, 4),
                        "anomaly_scored_higher": bool(anomaly_score > normal_score)})
    return results


def check_shipped_models(config: dict[str, Any]) -> dict[str, Any]:
    """Re-score each shipped model's reference snippets from the data set; compare."""
    worst, checked = 0.0, 0
    by_file = {c.file: c for c in data.list_clips()}
    for machine in EVALUATED_MACHINES:
        path = repo_path(config["weights_dir"]) / f"{machine.replace('/', '_')}.pt"
        model, standardiser, spec_config, meta = load_acoustic_model(path)
        for ref in meta["reference_scores"]:
            samples = data.load_clip(by_file[ref["file"]])[:ref["first_samples"]]
            score = clip_score(model, standardiser, samples, spec_config,
                               int(meta["features"]["score_patch_hop"]))
            worst = max(worst, abs(score - ref["score"]))
            checked += 1
    return {"reference_snippets": checked, "max_score_difference": worst}


def _write_markdown(out_dir: Path, metrics: dict[str, Any]) -> None:
    rows = []
    for machine, m in metrics["per_machine"].items():
        ci = next(v for k, v in m.items() if k.startswith("autoencoder_auroc_95ci"))
        rows.append([machine, f"{m['n_train_normal']}", f"{m['n_test_normal']} / "
                     f"{m['n_test_anomaly']}",
                     f"{m['autoencoder_auroc']['mean']:.3f} +- {m['autoencoder_auroc']['std']:.3f}",
                     f"[{ci[0]:.2f}, {ci[1]:.2f}]",
                     f"{m['autoencoder_pauc_0.1']['mean']:.3f}",
                     f"{m['rms_baseline_auroc']:.3f}",
                     f"[{m['rms_baseline_auroc_95ci'][0]:.2f}, "
                     f"{m['rms_baseline_auroc_95ci'][1]:.2f}]",
                     f"{m['rms_baseline_pauc_0.1']:.3f}",
                     f"{m['spearman_score_vs_rms']['mean']:+.2f}"])
    sections = [("Per machine id (test split)",
                 ["machine", "train normals", "test normal / anomaly",
                  f"AE AUROC (mean +- std, {len(metrics['seeds'])} seeds)",
                  "AE 95 % CI (seed 0, bootstrap)", "AE pAUC 0.1", "RMS AUROC", "RMS 95 % CI",
                  "RMS pAUC 0.1", "Spearman(AE score, RMS)"], rows)]
    checks = metrics.get("end_to_end_checks")
    if checks:
        sections.append(("End-to-end checks (1 + 1 clips; not a metric)",
                         ["machine", "normal score", "anomaly score", "anomaly higher"],
                         [[c["machine"], f"{c['normal_score']:.3f}", f"{c['anomaly_score']:.3f}",
                           "yes" if c["anomaly_scored_higher"] else "no"] for c in checks]))
    write_markdown(out_dir / "metrics.md", "MIMII fan: acoustic anomaly AUROC per machine id",
                   sections,
                   ["Trained on normal clips only; scores = mean reconstruction error of "
                    "standardised log-mel patches (n_fft 2048, hop 1024, 64 mel bands, 32 "
                    "frames).",
                    "pAUC: FPR <= 0.1, McClish-standardised (0.5 = chance).",
                    "RMS baseline: louder = more anomalous, fixed direction (not tuned per id).",
                    "Test sets are tiny (10 + 20 and 5 + 10 clips): see the intervals."])
