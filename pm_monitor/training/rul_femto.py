"""FEMTO / PRONOSTIA RUL: leave-one-bearing-out evaluation of the paper-002 ensemble and the
RMS + exponential baseline, noise robustness, and the deployable model trained on all bearings.

    python -m pm_monitor.training.rul_femto            # everything (one thread)
    python -m pm_monitor.training.rul_femto --folds Bearing1_3 --no-final --no-noise  # one fold

Writes results/rul_femto/ (metrics.json, metrics.md, one PNG per bearing) and
models/rul_femto/ (rul_femto.pt, rul_femto.json, check_windows.npz).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.datasets.femto import (
    ALL_BEARINGS,
    HORIZONTAL,
    LEARNING_BEARINGS,
    TEST_FULL_BEARINGS,
    VERTICAL,
    load_bearing,
)
from pm_monitor.training import rul_scoring as scoring
from pm_monitor.training.rul_baseline import BaselineConfig, end_of_life_ratio, run_baseline
from pm_monitor.training.rul_data import REPO_ROOT, BearingInputs, load_inputs
from pm_monitor.training.rul_network.ensemble import RulEnsemble, SequenceConfig, sequence_positions
from pm_monitor.training.rul_network.network import OUTPUT_NAMES, NetConfig
from pm_monitor.training.rul_network.snapshot import SnapshotConfig, snapshot_inputs
from pm_monitor.training.rul_network.targets import (
    OnsetRule,
    detect_onset,
    linear_target,
    piecewise_target,
    rul_s_from_linear,
    rul_s_from_piecewise,
)
from pm_monitor.training.rul_noise import NOISE_KINDS, perturb
from pm_monitor.training.rul_split import Fold, leave_one_bearing_out
from pm_monitor.training.rul_train import TrainConfig, targets_of, train_ensemble

RESULTS_DIR = REPO_ROOT / "results" / "rul_femto"
MODEL_DIR = REPO_ROOT / "models" / "rul_femto"
LIFE_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9)
CHALLENGE_FOLD = "challenge"


def _onsets(data: dict[str, BearingInputs], rule: OnsetRule) -> dict[str, dict]:
    out = {}
    for name, b in data.items():
        onset_s, decided_s = detect_onset(b.t_s, b.rms_h, rule)
        out[name] = {"onset_s": onset_s, "decided_s": decided_s}
    return out


def _known_onset(onset: dict, t_s: float) -> float | None:
    """The onset as known live at time t_s (the rule had decided by then), else None."""
    decided = onset["decided_s"]
    return onset["onset_s"] if decided is not None and decided <= t_s else None


def _rul_seconds(method: str, pos: int, b: BearingInputs, pred: dict, base, onset: dict
                 ) -> float:
    t = float(b.t_s[pos])
    linear = float(rul_s_from_linear(pred["mean"]["linear"][pos], t))
    if method == "deep_linear":
        return linear
    if method == "deep_piecewise":  # falls back to the linear head before a known onset
        value = float(rul_s_from_piecewise(pred["mean"]["piecewise"][pos], t,
                                           _known_onset(onset, t)))
        return linear if np.isnan(value) else value
    if method == "baseline":
        return float(base.rul_s[pos])
    raise ValueError(method)


PHM_METHODS = ("deep_linear", "deep_piecewise", "baseline")


def _baseline_normalised(b: BearingInputs, base, onset: dict) -> dict[str, np.ndarray]:
    rul = base.rul_s
    t = b.t_s
    linear = rul / np.maximum(t + rul, 1e-9)
    piecewise = np.ones_like(rul)
    for i in range(b.n):
        known = _known_onset(onset, float(t[i]))
        if known is not None:
            piecewise[i] = rul[i] / max(t[i] - known + rul[i], 1e-9)
    return {"piecewise": np.clip(piecewise, 0, 1), "linear": np.clip(linear, 0, 1)}


def gated_piecewise(t_s: np.ndarray, predicted: np.ndarray, onset: dict) -> np.ndarray:
    """The piecewise head held at 1 until the causal onset rule has fired (what the baseline's
    piecewise conversion does, and what the live estimator reports as 'not valid yet')."""
    known = np.array([_known_onset(onset, float(t)) is not None for t in t_s])
    return np.where(known, np.asarray(predicted, dtype=float), 1.0)


def evaluate_bearing(b: BearingInputs, truth: dict[str, np.ndarray], pred: dict, base,
                     onset: dict) -> dict:
    """Metrics of one held-out bearing (all snapshots, in time order, nothing sorted)."""
    base_norm = _baseline_normalised(b, base, onset)
    out: dict = {"n_snapshots": b.n, "life_s": b.life_s, "onset_s": onset["onset_s"],
                 "condition": b.condition}
    for name in OUTPUT_NAMES:
        out[name] = {
            "deep_mae": scoring.mae(truth[name], pred["mean"][name]),
            "deep_rmse": scoring.rmse(truth[name], pred["mean"][name]),
            "deep_coverage": scoring.coverage(truth[name], pred["lower"][name],
                                              pred["upper"][name]),
            "deep_interval_width": float(np.mean(pred["upper"][name] - pred["lower"][name])),
            "baseline_mae": scoring.mae(truth[name], base_norm[name]),
            "baseline_rmse": scoring.rmse(truth[name], base_norm[name]),
        }
    gated = gated_piecewise(b.t_s, pred["mean"]["piecewise"], onset)
    out["piecewise"]["deep_gated_mae"] = scoring.mae(truth["piecewise"], gated)
    out["piecewise"]["deep_gated_rmse"] = scoring.rmse(truth["piecewise"], gated)
    rul_true = b.life_s - b.t_s
    valid = base.upper_s < 24 * 3600.0
    out["baseline_coverage_s"] = (scoring.coverage(rul_true[valid], base.lower_s[valid],
                                                   base.upper_s[valid]) if valid.any() else None)
    points = []
    for fraction in LIFE_FRACTIONS:
        pos = int(np.argmin(np.abs(b.t_s - fraction * b.life_s)))
        actual = float(rul_true[pos])
        row = {"fraction": fraction, "t_s": float(b.t_s[pos]), "actual_rul_s": actual}
        for method in PHM_METHODS:
            predicted = _rul_seconds(method, pos, b, pred, base, onset)
            row[method] = {"rul_s": predicted,
                           "accuracy": float(scoring.phm_accuracy(actual, predicted))}
        points.append(row)
    out["life_points"] = points
    return out


def truncation_point(b: BearingInputs, pred: dict, base, onset: dict) -> dict | None:
    """The challenge's evaluation point of a test bearing, under both labels."""
    if b.truncation_pos is None:
        return None
    pos = b.truncation_pos
    row = {"t_s": float(b.t_s[pos]), "actual_official_s": b.official_rul_s,
           "actual_end_of_record_s": float(b.life_s - b.t_s[pos])}
    for method in PHM_METHODS:
        predicted = _rul_seconds(method, pos, b, pred, base, onset)
        row[method] = {"rul_s": predicted,
                       "accuracy_official": float(scoring.phm_accuracy(b.official_rul_s,
                                                                       predicted)),
                       "accuracy_end_of_record": float(scoring.phm_accuracy(
                           row["actual_end_of_record_s"], predicted))}
    return row


def _predict(ensemble: RulEnsemble, b: BearingInputs, ends: np.ndarray | None = None,
             images: np.ndarray | None = None, features: np.ndarray | None = None) -> dict:
    ends = np.arange(b.n) if ends is None else ends
    positions = sequence_positions(b.t_s, ends, ensemble.sequence)
    images = b.images if images is None else images
    features = b.features if features is None else features
    p = ensemble.predict(images[positions], features[positions])
    return {"mean": p.mean, "lower": p.lower, "upper": p.upper, "spread": p.spread}


def noise_robustness(ensemble: RulEnsemble, b: BearingInputs, truth: dict[str, np.ndarray],
                     stride: int, seed: int) -> dict:
    """MAE at every stride-th snapshot, clean vs each noise kind on the raw snapshots."""
    ends = np.arange(0, b.n, stride)
    needed = np.unique(sequence_positions(b.t_s, ends, ensemble.sequence))
    acc = load_bearing(b.name).acc_g
    clean = _predict(ensemble, b, ends)
    out = {"clean": {k: scoring.mae(truth[k][ends], clean["mean"][k]) for k in OUTPUT_NAMES}}
    for kind in NOISE_KINDS:
        rng = np.random.default_rng(seed)
        images = b.images.copy()
        features = b.features.copy()
        for pos in needed:
            h = perturb(acc[pos, :, HORIZONTAL], kind, rng)
            v = perturb(acc[pos, :, VERTICAL], kind, rng)
            images[pos], features[pos] = snapshot_inputs(h, v, ensemble.snapshot)
        noisy = _predict(ensemble, b, ends, images, features)
        out[kind] = {k: scoring.mae(truth[k][ends], noisy["mean"][k]) for k in OUTPUT_NAMES}
    return out


def _arrays_of(pred: dict) -> dict[str, list]:
    return {f"{part}_{k}": np.asarray(pred[part][k]).tolist()
            for part in ("mean", "lower", "upper") for k in OUTPUT_NAMES}


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    started = time.time()
    snapshot, sequence, net = SnapshotConfig(), SequenceConfig(), NetConfig()
    train_cfg = TrainConfig(members=args.members, epochs=args.epochs,
                            per_bearing=args.per_bearing, batch=args.batch)
    rule = OnsetRule()
    data = load_inputs(ALL_BEARINGS, snapshot)
    onsets = _onsets(data, rule)
    truths = {name: {"piecewise": piecewise_target(b.t_s, b.life_s, onsets[name]["onset_s"]),
                     "linear": linear_target(b.t_s, b.life_s)} for name, b in data.items()}
    targets = {name: targets_of(data[name], t["piecewise"], t["linear"])
               for name, t in truths.items()}
    folds = leave_one_bearing_out(ALL_BEARINGS)
    folds.append(Fold(CHALLENGE_FOLD, LEARNING_BEARINGS, TEST_FULL_BEARINGS))
    if args.folds:
        folds = [f for f in folds if f.name in args.folds]
    results_dir = Path(args.out)
    results_dir.mkdir(parents=True, exist_ok=True)
    n_units = (len(folds) + (0 if args.no_final else 1)) * train_cfg.members * train_cfg.epochs
    progress = tqdm(total=n_units, desc="training (member-epochs)", unit="epoch")
    report: dict = {"per_bearing": {}, "challenge_split": {}, "noise": {}, "predictions": {}}
    for fold in folds:
        ensemble = train_ensemble(list(fold.train), data, targets, snapshot, sequence, net,
                                  train_cfg, args.seed, held_out=fold.test, progress=progress)
        ratio = float(np.median([end_of_life_ratio(data[n].t_s, data[n].rms_h, rule)
                                 for n in fold.train]))
        base_cfg = BaselineConfig(failure_ratio=ratio, onset=rule)
        for name in fold.test:
            b = data[name]
            pred = _predict(ensemble, b)
            base = run_baseline(b.t_s, b.rms_h, base_cfg, seed=args.seed)
            trunc = truncation_point(b, pred, base, onsets[name])
            if fold.name == CHALLENGE_FOLD:
                report["challenge_split"][name] = {"truncation": trunc, "metrics":
                                                   evaluate_bearing(b, truths[name], pred, base,
                                                                    onsets[name])}
                continue
            metrics = evaluate_bearing(b, truths[name], pred, base, onsets[name])
            metrics["truncation"] = trunc
            metrics["baseline_failure_ratio"] = ratio
            report["per_bearing"][name] = metrics
            report["predictions"][name] = {"t_s": b.t_s.tolist(), **_arrays_of(pred),
                                           "baseline_rul_s": base.rul_s.tolist(),
                                           "truth_piecewise": truths[name]["piecewise"].tolist(),
                                           "truth_linear": truths[name]["linear"].tolist()}
            if not args.no_noise:
                report["noise"][name] = noise_robustness(ensemble, b, truths[name],
                                                         args.noise_stride, args.seed)
        tqdm.write(f"fold {fold.name} done at {time.time() - started:.0f} s")
        # keep what is done: a long run that dies late still leaves its folds behind
        partial = {k: v for k, v in report.items() if k != "predictions"}
        (results_dir.parent / "tmp").mkdir(parents=True, exist_ok=True)
        (results_dir.parent / "tmp" / "rul_femto_partial.json").write_text(
            json.dumps(partial, default=float))
    if not args.no_final:
        final = train_ensemble(list(ALL_BEARINGS), data, targets, snapshot, sequence, net,
                               train_cfg, args.seed, progress=progress)
        report["final_model"] = save_final(final, data, snapshot, sequence, train_cfg, rule,
                                           Path(args.model_dir), args)
    progress.close()
    report["summary"] = summarise(report)
    report["config"] = {"snapshot": snapshot.to_dict(), "sequence": asdict(sequence),
                        "net": net.to_dict(), "train": asdict(train_cfg),
                        "onset_rule": asdict(rule), "seed": args.seed,
                        "life_fractions": LIFE_FRACTIONS, "noise_stride": args.noise_stride}
    report["run"] = {"command": "python -m pm_monitor.training.rul_femto " + " ".join(
        args.argv), "seconds": round(time.time() - started, 1),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s), no GPU",
        "torch": torch.__version__}
    from pm_monitor.training.rul_report import write_markdown, write_plots
    write_plots(report, results_dir)
    write_markdown(report, results_dir / "metrics.md")
    # Per-snapshot curves go to a compressed npz (JSON of every snapshot would be megabytes).
    np.savez_compressed(results_dir / "predictions.npz", **{
        f"{name}/{key}": np.asarray(values, dtype=np.float32)
        for name, curves in report["predictions"].items() for key, values in curves.items()})
    saved = {k: v for k, v in report.items() if k != "predictions"}
    (results_dir / "metrics.json").write_text(json.dumps(saved, indent=1, default=float))
    return report


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarise(report: dict) -> dict:
    per = report["per_bearing"]
    summary: dict = {"bearings": sorted(per)}
    for name in OUTPUT_NAMES:
        keys = ["deep_mae", "deep_rmse", "deep_coverage", "deep_interval_width",
                "baseline_mae", "baseline_rmse"]
        if name == "piecewise":
            keys += ["deep_gated_mae", "deep_gated_rmse"]
        summary[name] = {key: _mean([m[name].get(key) for m in per.values()]) for key in keys}
    summary["baseline_coverage_s"] = _mean([m["baseline_coverage_s"] for m in per.values()])
    summary["phm_life_points"] = {
        method: _mean([p[method]["accuracy"] for m in per.values() for p in m["life_points"]])
        for method in PHM_METHODS}
    for key, source in (("phm_truncation_lobo", per), ("phm_truncation_challenge_split",
                                                       report["challenge_split"])):
        rows = [m["truncation"] for m in source.values() if m.get("truncation")]
        summary[key] = {method: {label: _mean([r[method][f"accuracy_{label}"] for r in rows])
                                 for label in ("official", "end_of_record")}
                        for method in PHM_METHODS} if rows else None
    if report["noise"]:
        summary["noise_mae"] = {kind: {k: _mean([n[kind][k] for n in report["noise"].values()])
                                       for k in OUTPUT_NAMES}
                                for kind in ("clean", *NOISE_KINDS)}
    return summary


def save_final(ensemble: RulEnsemble, data: dict[str, BearingInputs], snapshot: SnapshotConfig,
               sequence: SequenceConfig, train_cfg: TrainConfig, rule: OnsetRule,
               model_dir: Path, args: argparse.Namespace) -> dict:
    """The deployment model (all 11 bearings), its metadata and stored check windows."""
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = model_dir / "rul_femto.pt"
    ensemble.save(weights)
    # Check windows: raw snapshots (milli-g counts, exact) of a few sequences + the outputs.
    check_bearing = "Bearing3_3"
    b = data[check_bearing]
    ends = np.array([int(f * (b.n - 1)) for f in (0.3, 0.8, 1.0)])
    positions = sequence_positions(b.t_s, ends, sequence)
    acc = load_bearing(check_bearing).acc_g
    raw_counts = np.rint(acc[positions] * 1000.0).astype(np.int32)  # (3, steps, 2560, 2)
    reloaded = RulEnsemble.load(weights)
    expected = reloaded.member_outputs(b.images[positions], b.features[positions]).mean(axis=0)
    np.savez_compressed(model_dir / "check_windows.npz", raw_milli_g=raw_counts,
                        expected=expected.astype(np.float32), ends=ends,
                        t_s=b.t_s[positions])
    meta = {
        "model": "paper-002 multimodal RUL network (Bresenham image + CWT features -> dilated "
                 "conv branches -> LSTM + LayerNorm -> multi-head attention -> dense), "
                 f"ensemble of {len(ensemble.members)}",
        "file": weights.name, "format": "torch.save dict; torch.load(weights_only=True)",
        "outputs": {"piecewise": "normalised RUL, piecewise-linear target",
                    "linear": "normalised RUL, linear target"},
        "data": "FEMTO / PRONOSTIA (IEEE PHM 2012), all 11 bearings of shared/data/femto, "
                "labels to the end of each record",
        "split": "deployment model: trained on all 11 bearings; its error is estimated by the "
                 "leave-one-bearing-out evaluation in results/rul_femto/",
        "member_holdouts": ensemble.info.get("member_holdouts"),
        "calibration": {"coverage": ensemble.calibration.coverage,
                        "bins": ensemble.calibration.bins,
                        "how": "out-of-bag residuals of the members on training bearings"},
        "snapshot_config": snapshot.to_dict(), "sequence": asdict(sequence),
        "net_config": ensemble.net_config.to_dict(), "train": asdict(train_cfg),
        "onset_rule": asdict(rule), "seed": args.seed,
        "input_units": "acceleration in g; channel 0 horizontal, 1 vertical",
        "check_windows": {"file": "check_windows.npz", "bearing": check_bearing,
                          "ends": ends.tolist(), "expected": expected.tolist()},
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m pm_monitor.training.rul_femto " + " ".join(args.argv),
    }
    (model_dir / "rul_femto.json").write_text(json.dumps(meta, indent=1))
    return {"path": str(weights.relative_to(REPO_ROOT)) if weights.is_relative_to(REPO_ROOT)
            else str(weights), "members": len(ensemble.members)}


def rebuild_report(args: argparse.Namespace) -> dict:
    """Recompute derived metrics (gated piecewise), summary, markdown and PNGs from a finished
    run's metrics.json + predictions.npz, without training anything."""
    results_dir = Path(args.out)
    report = json.loads((results_dir / "metrics.json").read_text())
    rule = OnsetRule(**report["config"]["onset_rule"])
    data = load_inputs(list(report["per_bearing"]), SnapshotConfig.from_dict(
        report["config"]["snapshot"]))
    onsets = _onsets(data, rule)
    predictions: dict[str, dict] = {}
    with np.load(results_dir / "predictions.npz") as z:
        for key in z.files:
            name, field_name = key.split("/", 1)
            predictions.setdefault(name, {})[field_name] = z[key].astype(np.float64)
    for name, m in report["per_bearing"].items():
        p = predictions[name]
        gated = gated_piecewise(p["t_s"], p["mean_piecewise"], onsets[name])
        m["piecewise"]["deep_gated_mae"] = scoring.mae(p["truth_piecewise"], gated)
        m["piecewise"]["deep_gated_rmse"] = scoring.rmse(p["truth_piecewise"], gated)
    report["predictions"] = {n: {k: v.tolist() for k, v in p.items()}
                             for n, p in predictions.items()}
    report["summary"] = summarise(report)
    report["run"]["report_command"] = "python -m pm_monitor.training.rul_femto " + " ".join(
        args.argv)
    from pm_monitor.training.rul_report import write_markdown, write_plots
    write_plots(report, results_dir)
    write_markdown(report, results_dir / "metrics.md")
    saved = {k: v for k, v in report.items() if k != "predictions"}
    (results_dir / "metrics.json").write_text(json.dumps(saved, indent=1, default=float))
    return report


def attach_metrics(model_dir: Path, report: dict) -> None:
    """Write the leave-one-bearing-out summary into the deployment model's metadata (the
    model itself has no held-out data; this is the estimate of its error)."""
    meta_path = Path(model_dir) / "rul_femto.json"
    if not meta_path.is_file():
        return
    meta = json.loads(meta_path.read_text())
    summary = report["summary"]
    meta["metrics"] = {
        "what": "leave-one-bearing-out over 11 FEMTO bearings (same settings, one ensemble "
                "per fold); normalised RUL; mean over held-out bearings",
        "piecewise": summary["piecewise"], "linear": summary["linear"],
        "phm_life_points": summary["phm_life_points"],
        "phm_truncation_lobo": summary.get("phm_truncation_lobo"),
        "phm_truncation_challenge_split": summary.get("phm_truncation_challenge_split"),
        "source": "results/rul_femto/metrics.json", "run_date_utc": report["run"]["date_utc"]}
    meta_path.write_text(json.dumps(meta, indent=1))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", nargs="*", default=None,
                        help=f"fold names (bearings, or '{CHALLENGE_FOLD}'); default all")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--per-bearing", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--noise-stride", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-final", action="store_true", help="skip the deployment model")
    parser.add_argument("--no-noise", action="store_true", help="skip noise robustness")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild metrics/markdown/PNGs of a finished run, no training")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--model-dir", default=str(MODEL_DIR))
    return parser


def main(argv: list[str] | None = None) -> None:
    import sys
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    report = rebuild_report(args) if args.report_only else run(args)
    if not args.no_final:
        attach_metrics(Path(args.model_dir), report)
    print(json.dumps(report["summary"], indent=1, default=float))
    print(f"took {report['run']['seconds']:.0f} s")


if __name__ == "__main__":
    main()
