"""Sanity of the RUL network's layer-wise relevance (LRP-0) on real FEMTO snapshots.

Shipped ensemble (models/rul_femto/rul_femto.pt, 3 members), sequences ending at 8 moments
spread over the second half of each chosen bearing's life (the faithfulness of an explanation
is checked here, not the accuracy of the model; the deployment model was trained on all FEMTO
bearings). Per sequence:
* conservation: |sum(input relevance) + bias relevance - logit| / |logit|, and the share of
  the logit the biases carry;
* deletion: the 48 input units (6 snapshots x {CWT image, 7 features}) ranked by |relevance|;
  the top-k removed (image -> all zero, feature -> 0 = its training mean) vs k random units
  (mean of 20 draws); |change| of the ensemble's normalised RUL (piecewise head);
* time per explanation (3 members, one thread).

    PYTHONPATH=$PWD python benchmarks/rul_relevance_benchmark.py
Writes results/explain_shapley/rul_lrp.json, .md and rul_lrp.png.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from pm_monitor.datasets.femto import load_bearing
from pm_monitor.training.rul_data import compute_inputs
from pm_monitor.training.rul_network.cwt_features import FEATURE_NAMES
from pm_monitor.training.rul_network.ensemble import RulEnsemble, sequence_positions
from pm_monitor.training.rul_network.relevance import explain_network

ROOT = Path(__file__).resolve().parents[1]
KS = (1, 3, 6)


def normalised_rul(ensemble: RulEnsemble, images: np.ndarray, features: np.ndarray) -> np.ndarray:
    """(B,) ensemble mean piecewise output for standardised features."""
    with torch.no_grad():
        x_img = torch.from_numpy(images.astype(np.float32))
        x_feat = torch.from_numpy(features.astype(np.float32))
        return np.mean([m(x_img, x_feat)[:, 0].numpy() for m in ensemble.members], axis=0)


def removed(images: np.ndarray, features: np.ndarray, units: list[tuple[int, int]]):
    images, features = images.copy(), features.copy()
    for step, group in units:
        if group == 0:
            images[step] = 0.0
        else:
            features[step, group - 1] = 0.0
    return images, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bearings", nargs="+", default=["Bearing1_3", "Bearing2_1"])
    parser.add_argument("--moments", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "results" / "explain_shapley"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    ensemble = RulEnsemble.load(ROOT / "models" / "rul_femto" / "rul_femto.pt")
    rows = []
    for name in args.bearings:
        bearing = load_bearing(name)
        t_s, acc = bearing.t_s, bearing.acc_g
        for end in np.linspace(len(t_s) // 2, len(t_s) - 1, args.moments).round().astype(int):
            positions = sequence_positions(t_s, int(end), ensemble.sequence)
            raw_images, raw_features = compute_inputs(acc[positions], ensemble.snapshot)
            x_img, x_feat = ensemble.tensors(raw_images[None], raw_features[None])
            images, features = x_img[0].numpy(), x_feat[0].numpy()
            explanation = explain_network(ensemble.members, images, features, t_s[positions],
                                          FEATURE_NAMES)
            relevance = explanation.relevance.T  # (T, 8)
            y = float(normalised_rul(ensemble, images[None], features[None])[0])
            order = np.argsort(-np.abs(relevance), axis=None)
            units = [tuple(int(v) for v in np.unravel_index(i, relevance.shape)) for i in order]
            row = {"bearing": name, "end": int(end), "t_s": float(t_s[end]),
                   "life_fraction": float(t_s[end] / t_s[-1]), "normalised_rul": y,
                   "logit": explanation.estimate, "bias": explanation.reference_estimate,
                   "conservation_error": explanation.conservation_error,
                   "ms": explanation.computation_ms,
                   "relevance_per_step": relevance.tolist()}
            for k in KS:
                top = normalised_rul(ensemble, *[a[None] for a in removed(
                    images, features, units[:k])])[0]
                draws = [rng.choice(len(units), k, replace=False) for _ in range(20)]
                batch = [removed(images, features, [units[i] for i in d]) for d in draws]
                rand = normalised_rul(ensemble, np.stack([b[0] for b in batch]),
                                      np.stack([b[1] for b in batch]))
                row[f"top{k}"] = abs(float(top) - y)
                row[f"random{k}"] = float(np.mean(np.abs(rand - y)))
            rows.append(row)
            print(f"{name} t={t_s[end]:.0f}s y={y:.3f} cons={row['conservation_error']:.1e} "
                  f"top1/rand1 {row['top1']:.4f}/{row['random1']:.4f} ({row['ms']:.0f} ms)",
                  flush=True)
    summary = {"sequences": len(rows),
               "conservation_error_max": float(max(r["conservation_error"] for r in rows)),
               "bias_share_median": float(np.median([abs(r["bias"]) / max(abs(r["logit"]), 1e-9)
                                                     for r in rows])),
               "ms_median": float(np.median([r["ms"] for r in rows])),
               "ms_p95": float(np.percentile([r["ms"] for r in rows], 95))}
    for k in KS:
        summary[f"deletion_k{k}"] = {
            "top": float(np.mean([r[f"top{k}"] for r in rows])),
            "random": float(np.mean([r[f"random{k}"] for r in rows])),
            "top_beats_random": float(np.mean([r[f"top{k}"] > r[f"random{k}"] for r in rows]))}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rul_lrp.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    lines = [f"# LRP of the RUL network, {len(rows)} FEMTO sequences ({', '.join(args.bearings)})",
             "", "| measure | value |", "|---|---|",
             f"| conservation error (inputs + biases vs logit), max | "
             f"{summary['conservation_error_max']:.1e} |",
             f"| share of the logit carried by biases, median | "
             f"{summary['bias_share_median']:.2f} |",
             f"| time per explanation (3 members), median / p95 | {summary['ms_median']:.0f} / "
             f"{summary['ms_p95']:.0f} ms |"]
    for k in KS:
        d = summary[f"deletion_k{k}"]
        lines.append(f"| deletion k={k}: mean abs change of the normalised RUL, top / random | "
                     f"{d['top']:.4f} / {d['random']:.4f} (top > random in "
                     f"{100 * d['top_beats_random']:.0f} % of sequences) |")
    (out / "rul_lrp.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / "rul_lrp.png")
    print("\n".join(lines))


def plot(rows: list[dict], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    mean = np.mean([np.abs(np.array(r["relevance_per_step"])) for r in rows], axis=0)
    image = axes[0].imshow(mean.T, aspect="auto", cmap="viridis")
    axes[0].set_yticks(range(8), ["cwt_image", *FEATURE_NAMES])
    axes[0].set_xlabel("snapshot in the sequence (oldest -> newest)")
    axes[0].set_title("mean |LRP relevance| per input and snapshot", fontsize=9)
    fig.colorbar(image, ax=axes[0])
    width = 0.35
    axes[1].bar(np.arange(len(KS)), [np.mean([r[f"top{k}"] for r in rows]) for k in KS], width,
                label="top-k relevance removed")
    axes[1].bar(np.arange(len(KS)) + width,
                [np.mean([r[f"random{k}"] for r in rows]) for k in KS], width,
                label="k random units removed")
    axes[1].set_xticks(np.arange(len(KS)) + width / 2, [f"k = {k}" for k in KS])
    axes[1].set_ylabel("mean |change| of the normalised RUL")
    axes[1].set_title("deletion test", fontsize=9)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
