"""Train and evaluate the rig baseline bundle.

    python -m pm_monitor.training.rig_baseline [--out models/rig_baseline]
                                               [--results results/rig_baseline] [--quick]

Generates simulated rig runs (split by run into training / validation / held-out), trains the
four models, writes the bundle, then streams the held-out runs through the Cascade and writes
metrics.json and figures; the same held-out windows, with accel, mic or thermal removed, measure
the evidence for deciding without a modality (training/degraded_evidence.py), which goes into
the bundle's metadata and results/.../degraded_modalities.{json,md}. --quick shrinks everything
to a smoke test of under a minute.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.model_set.descriptor import read_descriptor
from pm_monitor.core.models.bundle import save_bundle, save_bundle_metadata
from pm_monitor.sim import RigConfig
from pm_monitor.training import degraded_evidence, plots
from pm_monitor.training.evaluate import (
    CascadeRecorder,
    RunRecord,
    modality_dropout_metrics,
    summarise,
)
from pm_monitor.training.loop import FitConfig
from pm_monitor.training.rig_dataset import feature_config_for, generate_run, housing_test
from pm_monitor.training.run_plan import plan_runs
from pm_monitor.training.train_bundle import TrainingConfig, train_bundle

FULL = TrainingConfig(
    stage1=FitConfig(epochs=30, patience=6, max_seconds=150.0),
    autoencoder=FitConfig(epochs=100, patience=8, batch_size=128, max_seconds=40.0),
    thermal=FitConfig(epochs=14, patience=3, batch_size=32, max_seconds=200.0),
)
QUICK = TrainingConfig(
    stage1=FitConfig(epochs=2, max_seconds=10.0),
    autoencoder=FitConfig(epochs=2, max_seconds=5.0),
    thermal=FitConfig(epochs=1, batch_size=16, max_seconds=10.0),
)
FRAME_EVERY = {"train": 4, "val": 4, "test": 4}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/rig_baseline"))
    parser.add_argument("--results", type=Path, default=Path("results/rig_baseline"))
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test run (< 1 min)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the machine is shared; one core keeps timings honest too
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)

    config = QUICK if args.quick else FULL
    feature_config = feature_config_for(RigConfig())
    extractor = FeatureExtractor(feature_config)
    runs = {}
    for split in ("train", "val"):
        runs[split] = []
        for spec in plan_runs(split, args.quick):
            runs[split].append(generate_run(
                spec, extractor, config.window_s, config.hop_s, FRAME_EVERY[split],
                config.thermal_scale_k,
            ))
            log(f"generated {spec.name}: {len(runs[split][-1])} windows")

    bundle, histories = train_bundle(feature_config, runs["train"], runs["val"], config, log)
    save_bundle(bundle, args.out)
    log(f"bundle written to {args.out}")

    # the RUL stage the saved model set names (the shipped rig RUL model, when args.out lies
    # beside models/rul_rig), so the held-out runs score the RUL the monitor publishes
    rul_dir = args.out if read_descriptor(args.out).stages.get("rul") else None
    records, test_runs = [], []
    degraded = degraded_evidence.DegradedRecorder(bundle)
    for spec in plan_runs("test", args.quick):
        faults = spec.schedule.faults
        record = RunRecord(spec.name, faults[0].location if faults else None)
        cascade = CascadeRecorder(bundle, record, housing_test(), rul_dir)
        degraded.start(spec)

        def on_window(window, truth, cascade=cascade) -> None:
            cascade(window, truth)
            degraded(window, truth)

        test_runs.append(generate_run(
            spec, extractor, config.window_s, config.hop_s, FRAME_EVERY["test"],
            config.thermal_scale_k, on_window=on_window,
        ))
        records.append(record)
        log(f"evaluated held-out {spec.name}: {len(record.t_s)} windows")
    bundle.degraded_evidence = degraded.evidence()
    save_bundle_metadata(bundle, args.out)  # the weights written above stay as they are
    degraded_evidence.write_results(bundle.degraded_evidence, args.results)

    results = summarise(records, bundle.state_names)
    results["stage1_modality_dropout"] = modality_dropout_metrics(
        bundle, test_runs,
        {s: extractor.sensor_slice(s) for s in extractor.sensor_groups},
        {s: extractor.modality_of_sensor(s) for s in extractor.sensor_groups},
    )
    results["training"] = {
        "seconds": time.perf_counter() - start,
        "quick": args.quick,
        "epochs_run": {name: len(h.train_loss) for name, h in histories.items()},
        "best_epoch": {name: h.best_epoch for name, h in histories.items()},
        "train_runs": len(runs["train"]),
        "validation_runs": len(runs["val"]),
        "held_out_runs": len(records),
    }
    _write_results(args.results, results, histories, records, bundle.state_names)
    log(f"results written to {args.results}")
    _print_headline(results)
    return results


def _write_results(directory: Path, results: dict, histories, records, state_names) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_text(json.dumps(results, indent=1, default=_json) + "\n")
    plots.plot_learning_curves(histories, directory / "learning_curves.png")
    plots.plot_confusion(
        np.asarray(results["stage1"]["confusion"]), state_names,
        "Stage 1 health state, held-out runs", directory / "confusion_stage1.png",
    )
    fault_runs = [r for r in records if r.fault_location is not None] or records
    run = fault_runs[0]
    rul = np.array([r if r is not None else (np.nan,) * 3 for r in run.rul], dtype=float)
    plots.plot_timeline(
        np.asarray(run.t_s), np.asarray(run.truth_state), np.asarray(run.state),
        (np.asarray(run.score), np.asarray(run.threshold)),
        (np.asarray(run.truth_rul), rul[:, 0], rul[:, 1], rul[:, 2]),
        state_names, f"held-out run {run.name}", directory / "timeline_heldout.png",
    )
    examples = _localisation_examples(records)
    if examples:
        plots.plot_localisation_examples(examples, directory / "gradcam_heldout.png")


def _localisation_examples(records) -> list:
    """One held-out example per bearing location (the last truly-WARNING window)."""
    examples, seen = [], set()
    for record in records:
        if record.example is None or record.example[0] is None:
            continue
        if record.fault_location in seen:
            continue
        seen.add(record.fault_location)
        frame, loc = record.example
        title = f"{record.name} -> {loc.location} ({loc.confidence:.0%})"
        examples.append((title, frame, loc.heatmap, loc.hotspot_xy, loc.region))
    return examples


def _print_headline(results: dict) -> None:
    s1 = results["stage1"]
    print(f"held-out Stage 1: accuracy {s1['accuracy']:.3f}, macro F1 {s1['macro_f1']:.3f}, "
          f"AUROC(not normal) {s1['auroc_not_normal']:.3f}")
    print(f"held-out anomaly AUROC {results['anomaly']['auroc']:.3f}")
    print(f"per-window CPU time (ms): {results['timing_ms']}")


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    main()
