"""How often, and how cheaply, the Stage 1 counterfactual reaches Normal on simulated rig runs.

    python -m pm_monitor.evaluation.counterfactual_eval [--out results/explain/counterfactual]
                                                             [--every 4] [--refresh]

Validation runs (training/run_plan.py, split "val") choose; the held-out "test" runs are then
evaluated once, for the previous default and the chosen setting only. For each split: the
shipped rig bundle (models/rig_baseline) labels every window; the healthy background
(HealthyBackground, capacity 8 like the live one) is a reservoir of that split's sequences from
before any damage (severity 0); every `every`-th window Stage 1 calls not-Normal is searched.
Per setting: reach rate (overall and per predicted state), features changed, size of the change
(z at the latest step; physical units: factor for log-compressed features, kelvin for
temperatures) and time per search. Writes counterfactual_eval.json, .md and .png.

The choice is a rule fixed in `choose` (not a look at the test numbers): the highest validation
reach rate among settings that stay readable and plausible (see ELIGIBILITY).
Run features are cached in results/tmp/counterfactual/ (--refresh recomputes them).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pm_monitor.core.explain.attribution import default_logits
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.counterfactual import (
    Counterfactual,
    CounterfactualConfig,
    CounterfactualSearch,
)
from pm_monitor.core.types import HealthState

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "results" / "tmp" / "counterfactual"
PREVIOUS = "previous default (feature x2, no refine)"
PREVIOUS_DEFAULT = CounterfactualConfig(max_features=2, candidates=8, healthy_margin_z=0.5,
                                        move="feature", refine=False)
REFINED = replace(PREVIOUS_DEFAULT, refine=True)
# Readable: the message names at most 4 feature changes, or at most 2 of the 5 sensors (a
# change that needs most sensors to read healthy says little beyond "everything is off").
# Plausible: the healthy range is the healthy data's range widened by at most 0.5 std.
ELIGIBILITY = {"max_features": 4, "max_sensors": 2, "healthy_margin_z": 0.5}
SETTINGS: dict[str, CounterfactualConfig] = {
    PREVIOUS: PREVIOUS_DEFAULT,
    **{f"feature x{k}": replace(REFINED, max_features=k) for k in range(1, 7)},
    "feature x4, 16 candidates": replace(REFINED, max_features=4, candidates=16),
    "feature x4, margin 0.25": replace(REFINED, max_features=4, healthy_margin_z=0.25),
    "feature x4, margin 1.0": replace(REFINED, max_features=4, healthy_margin_z=1.0),
    "sensor x2, no refine": replace(PREVIOUS_DEFAULT, move="sensor", max_sensors=2),
    **{f"sensor x{k}": replace(REFINED, move="sensor", max_sensors=k) for k in (1, 2, 3)},
    **{f"auto: feature x{k}, else sensor x2": replace(REFINED, move="auto", max_features=k,
                                                      max_sensors=2) for k in (2, 4)},
}


@dataclass
class SplitWindows:
    """The not-Normal windows of one split to search, and the split's healthy background."""

    sequences: np.ndarray  # (N, T, D) standardised Stage 1 inputs
    predicted: np.ndarray  # (N,) HealthState Stage 1 chose
    background: HealthyBackground
    windows_total: int


def load_split(bundle, split: str, every: int, refresh: bool = False) -> SplitWindows:
    """Simulate (or read from the cache) the split's runs and pick the windows to search."""
    from pm_monitor.training.sequences import build_sequences

    runs = [_run_features(spec, bundle, refresh) for spec in _plan(split)]
    sequences = np.concatenate([
        build_sequences(bundle.scaler.standardise(r["features"], r["present"]), [len(r["state"])],
                        bundle.sequence_length) for r in runs])
    severity = np.concatenate([r["severity"] for r in runs])
    with torch.no_grad():
        logits = default_logits(bundle.stage1(torch.from_numpy(sequences)))
    predicted = logits.argmax(dim=-1).numpy()
    background = HealthyBackground(capacity=8, seed=0)
    for i in np.flatnonzero(severity == 0.0):
        background.add(sequences[i])
    chosen = np.flatnonzero(predicted != int(HealthState.NORMAL))[::every]
    return SplitWindows(sequences[chosen], predicted[chosen], background, len(sequences))


def _plan(split: str) -> list:
    from pm_monitor.training.run_plan import plan_runs

    return plan_runs(split)


def _run_features(spec, bundle, refresh: bool) -> dict[str, np.ndarray]:
    """Features, presence, truth state and severity of one run (no frames are kept)."""
    path = CACHE / f"{spec.name}.npz"
    if path.exists() and not refresh:
        with np.load(path) as cached:
            return dict(cached)
    from pm_monitor.core.features import FeatureExtractor
    from pm_monitor.training.rig_dataset import generate_run

    run = generate_run(spec, FeatureExtractor(bundle.feature_config), bundle.window_s,
                       bundle.hop_s, frame_every=10**9, thermal_scale_k=bundle.thermal_scale_k)
    data = {"features": run.features, "present": run.present, "state": run.state,
            "severity": run.severity}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **data)
    return data


def evaluate(bundle, windows: SplitWindows, config: CounterfactualConfig, label: str) -> dict:
    """Search every window with one setting; the measures of the report."""
    search = CounterfactualSearch(bundle.stage1, bundle.feature_names,
                                  bundle.scaler.mean, bundle.scaler.std, "normal", config)
    bounds = windows.background.bounds(config.healthy_margin_z)
    results, seconds = [], []
    for sequence in tqdm(windows.sequences, desc=label, leave=False):
        start = time.perf_counter()
        results.append(search.search(sequence, bounds))
        seconds.append(time.perf_counter() - start)
    return summarise(results, windows.predicted, np.asarray(seconds))


def summarise(results: list[Counterfactual], predicted: np.ndarray,
              seconds: np.ndarray) -> dict:
    """Reach rate, changed features, size of change, time; sizes over reached windows only."""
    if not results:
        raise ValueError("no windows to summarise")
    reached = np.array([r.reached_target for r in results])
    n_changed = np.array([len(r.changes) for r in results])
    by_state = {HealthState(s).label: float(reached[predicted == s].mean())
                for s in sorted(set(predicted.tolist()))}
    sizes = [_size(r) for r in results if r.reached_target and r.changes]
    return {
        "windows": len(results),
        "reach_rate": float(reached.mean()),
        "reach_rate_by_state": by_state,
        "changed_features_median": float(np.median(n_changed)),
        "changed_features_median_reached": _median(n_changed[reached]),
        "changed_features_max": int(n_changed.max()),
        "dz_sum_median_reached": _median([s["dz_sum"] for s in sizes]),
        "dz_max_median_reached": _median([s["dz_max"] for s in sizes]),
        "factor_largest_median_reached": _median([s["factor"] for s in sizes if s["factor"]]),
        "kelvin_largest_median_reached": _median([s["kelvin"] for s in sizes if s["kelvin"]]),
        "p_after_median": float(np.median([r.p_target_after for r in results])),
        "ms_median": float(np.median(seconds) * 1e3),
        "ms_p95": float(np.percentile(seconds, 95) * 1e3),
    }


def _size(result: Counterfactual) -> dict:
    """Sum and max |dz| at the latest step; the largest change of a ratio-scale feature as a
    factor (>= 1, either direction) and of a temperature in kelvin."""
    dz = [abs(c.needed_z - c.current_z) for c in result.changes]
    factors = [max(c.needed.value / c.current.value, c.current.value / c.needed.value)
               for c in result.changes if c.current.unit not in ("degC", "K")
               and c.current.value > 0 and c.needed.value > 0]
    kelvin = [abs(c.needed.value - c.current.value) for c in result.changes
              if c.current.unit in ("degC", "K")]
    return {"dz_sum": float(sum(dz)), "dz_max": float(max(dz)),
            "factor": max(factors) if factors else None, "kelvin": max(kelvin) if kelvin else None}


def _median(values) -> float | None:
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.median(values)) if values else None


def eligible(config: CounterfactualConfig) -> bool:
    if config.healthy_margin_z > ELIGIBILITY["healthy_margin_z"]:
        return False
    sensors_ok = config.max_sensors <= ELIGIBILITY["max_sensors"]
    features_ok = config.max_features <= ELIGIBILITY["max_features"]
    return {"sensor": sensors_ok, "feature": features_ok}.get(config.move,
                                                               sensors_ok and features_ok)


def choose(rows: dict[str, dict], settings: dict[str, CounterfactualConfig]) -> str:
    """Highest validation reach rate among eligible settings; ties: fewer changed features
    (median over reached windows), then faster."""
    candidates = [name for name in rows if eligible(settings[name])]
    if not candidates:
        raise ValueError("no eligible setting was evaluated")
    return max(candidates, key=lambda n: (round(rows[n]["reach_rate"], 3),
                                          -(rows[n]["changed_features_median_reached"] or 0.0),
                                          -rows[n]["ms_median"]))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "explain" / "counterfactual")
    parser.add_argument("--every", type=int, default=4,
                        help="search every n-th not-Normal window (default 4)")
    parser.add_argument("--refresh", action="store_true", help="re-simulate the cached runs")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    torch.set_num_threads(1)  # shared machine; one thread keeps the timings comparable
    from pm_monitor.core.models.bundle import load_bundle

    start = time.perf_counter()
    bundle = load_bundle(ROOT / "models" / "rig_baseline")
    report: dict = {"command": "python -m pm_monitor.evaluation.counterfactual_eval"
                    + (f" --every {args.every}" if args.every != 4 else ""),
                    "settings": {n: asdict(c) for n, c in SETTINGS.items()},
                    "eligibility": ELIGIBILITY}
    validation = load_split(bundle, "val", args.every, args.refresh)
    rows = {name: evaluate(bundle, validation, config, f"val {name}")
            for name, config in tqdm(SETTINGS.items(), desc="validation settings")}
    chosen = choose(rows, SETTINGS)
    test = load_split(bundle, "test", args.every, args.refresh)
    held_out = {name: evaluate(bundle, test, SETTINGS[name], f"test {name}")
                for name in dict.fromkeys((PREVIOUS, chosen))}
    report |= {
        "validation": {"windows_total": validation.windows_total, "rows": rows},
        "chosen": chosen,
        "test": {"windows_total": test.windows_total, "rows": held_out},
        "elapsed_s": time.perf_counter() - start,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"1 thread, no GPU",
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "counterfactual_eval.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "counterfactual_eval.md").write_text(markdown(report))
    from pm_monitor.evaluation.counterfactual_plot import plot_reach

    plot_reach(rows, chosen, args.out / "counterfactual_eval.png")
    print(markdown(report))
    return report


def markdown(report: dict) -> str:
    head = ("| setting | windows | reach Normal | pre_warning / warning / failure | features "
            "changed, median (reached) / max | sum / max \\|dz\\|, median reached | largest "
            "change: factor / K | ms median / p95 |\n|---|---|---|---|---|---|---|---|\n")

    def table(rows: dict) -> str:
        lines = []
        for name, r in rows.items():
            states = " / ".join(f"{r['reach_rate_by_state'].get(s, float('nan')):.0%}"
                                for s in ("pre_warning", "warning", "failure"))
            lines.append(
                f"| {name}{' (chosen)' if name == report['chosen'] else ''}"
                f"{'' if eligible(CounterfactualConfig(**report['settings'][name])) else ' *'}"
                f" | {r['windows']} | {r['reach_rate']:.0%} | {states} | "
                f"{_fmt(r['changed_features_median_reached'])} / {r['changed_features_max']} | "
                f"{_fmt(r['dz_sum_median_reached'])} / {_fmt(r['dz_max_median_reached'])} | "
                f"{_fmt(r['factor_largest_median_reached'])} / "
                f"{_fmt(r['kelvin_largest_median_reached'])} | "
                f"{r['ms_median']:.1f} / {r['ms_p95']:.1f} |")
        return head + "\n".join(lines) + "\n"

    val, test = report["validation"], report["test"]
    return (f"# Counterfactual reach, shipped rig bundle\n\n"
            f"Command: `{report['command']}`; {report['elapsed_s']:.0f} s on "
            f"{report['machine']}, {report['date_utc']}.\n\n"
            f"## Validation runs ({val['windows_total']} windows; not-Normal ones searched)"
            f"\n\n{table(val['rows'])}\n* not eligible: more than {ELIGIBILITY['max_features']}"
            f" features or {ELIGIBILITY['max_sensors']} sensors, or a healthy margin above "
            f"{ELIGIBILITY['healthy_margin_z']} std.\n\nChosen by rule: **{report['chosen']}**."
            f"\n\n## Held-out test runs ({test['windows_total']} windows), evaluated once\n\n"
            f"{table(test['rows'])}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"


if __name__ == "__main__":
    main()
