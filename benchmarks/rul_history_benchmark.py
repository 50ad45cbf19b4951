"""Sanity and cost of the model-agnostic RUL attribution on the default RUL model (population
prior + health-indicator onset + Kalman trend, core/rul/prognosis.py) on real FEMTO bearings.

For each bearing: the indicators of every snapshot go through the model's tracker as the live
estimator feeds it, with a RecentHistory (last 24 snapshots = 4 min, 4 time blocks) beside it.
At 8 moments after the detected onset:
* Shapley values of the RUL over (indicator x time block), captum ShapleyValueSampling,
  8 permutations; conservation: |sum - (RUL - RUL with every indicator healthy)| relative;
* deletion: the k players with the largest |value| set to the healthy level vs k random
  players (mean of 10 draws): |change| of the RUL;
* time per explanation (one thread).

    PYTHONPATH=$PWD python benchmarks/rul_history_benchmark.py
Writes results/explain_shapley/rul_history.json and .md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.explain.rul_relevance import RecentHistory
from pm_monitor.core.rul.live import judged_state, onset_monitor
from pm_monitor.core.rul.onset import indicator_names, snapshot_indicators
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel, PrognosisTracker
from pm_monitor.datasets.femto import load_bearing

ROOT = Path(__file__).resolve().parents[1]
FS = 25_600.0
KS = (1, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bearings", nargs="+", default=["Bearing1_3", "Bearing2_1"])
    parser.add_argument("--moments", type=int, default=8)
    parser.add_argument("--model", default=str(ROOT / "models/rul_femto/rul_prognosis.json"))
    parser.add_argument("--out", default=str(ROOT / "results" / "explain_shapley"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = PrognosisModel.load(args.model)
    names = indicator_names(FS)
    columns = [names.index(n) for n in model.indicator_names]
    rows = []
    for name in args.bearings:
        bearing = load_bearing(name)
        acc, t_s = bearing.acc_g, bearing.t_s
        tracker = PrognosisTracker(model, OperatingCondition(bearing.rpm, bearing.load_n))
        history = RecentHistory(window=24)
        indicators = [snapshot_indicators(s[:, 0], s[:, 1], FS)[columns] for s in acc]
        # the onset: the any-machine monitor on the same snapshots, as the live estimator
        monitor = onset_monitor(load_asset(ROOT / "config/assets/femto_bearing.yaml"),
                                ["horizontal", "vertical"], FS, model.onset, 0.1, 10.0)
        states = [judged_state(monitor.process(s, "g", bearing.rpm)) for s in acc]
        onset_at = None
        explained_at = set()
        for i, (t, row, state) in enumerate(zip(t_s, indicators, states, strict=True)):
            history.before_update(tracker, float(t), row, state)
            tracker.update(float(t), row, state)
            if onset_at is None and tracker.onset.onset_s is not None:
                onset_at = i
                explained_at = set(np.linspace(i + 24, len(t_s) - 1, args.moments)
                                   .round().astype(int).tolist())
            if i not in explained_at:
                continue
            start = time.perf_counter()
            explanation = history.explain(model.indicator_names)
            ms = (time.perf_counter() - start) * 1e3
            _times, window, healthy = history.rows()
            edges = np.linspace(0, len(window), 5).round().astype(int)
            values = explanation.relevance
            players = [tuple(int(v) for v in np.unravel_index(j, values.shape))
                       for j in np.argsort(-np.abs(values), axis=None)]

            def without(chosen, window=window, healthy=healthy, edges=edges,
                        history=history):
                changed = window.copy()
                for c, b in chosen:
                    changed[edges[b]:edges[b + 1], c] = healthy[c]
                return history.replay(changed)

            row_out = {"bearing": name, "t_s": float(t), "rul_s": explanation.estimate,
                       "healthy_rul_s": explanation.reference_estimate,
                       "conservation_error": explanation.conservation_error, "ms": ms,
                       "top": explanation.summary}
            for k in KS:
                row_out[f"top{k}"] = abs(without(players[:k]) - explanation.estimate)
                draws = [rng.choice(len(players), k, replace=False) for _ in range(10)]
                row_out[f"random{k}"] = float(np.mean(
                    [abs(without([players[j] for j in d]) - explanation.estimate)
                     for d in draws]))
            rows.append(row_out)
            print(f"{name} t={t:.0f}s RUL {explanation.estimate:.0f}s "
                  f"cons {explanation.conservation_error:.1e} top1/rand1 "
                  f"{row_out['top1']:.0f}/{row_out['random1']:.0f} s ({ms:.0f} ms)", flush=True)
    summary = {"explanations": len(rows),
               "conservation_error_max": float(max(r["conservation_error"] for r in rows)),
               "ms_median": float(np.median([r["ms"] for r in rows])),
               "ms_p95": float(np.percentile([r["ms"] for r in rows], 95))}
    for k in KS:
        summary[f"deletion_k{k}"] = {
            "top_s": float(np.mean([r[f"top{k}"] for r in rows])),
            "random_s": float(np.mean([r[f"random{k}"] for r in rows])),
            "top_beats_random": float(np.mean([r[f"top{k}"] > r[f"random{k}"] for r in rows]))}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rul_history.json").write_text(json.dumps({"summary": summary, "rows": rows},
                                                     indent=1))
    lines = [f"# Indicator x time-block attribution of the default RUL model, {len(rows)} "
             f"explanations ({', '.join(args.bearings)})", "", "| measure | value |", "|---|---|",
             f"| conservation error, max | {summary['conservation_error_max']:.1e} |",
             f"| time per explanation, median / p95 | {summary['ms_median']:.0f} / "
             f"{summary['ms_p95']:.0f} ms |"]
    for k in KS:
        d = summary[f"deletion_k{k}"]
        lines.append(f"| deletion k={k} (set to healthy): mean abs change of the RUL, top / "
                     f"random | {d['top_s']:.0f} / {d['random_s']:.0f} s (top > random in "
                     f"{100 * d['top_beats_random']:.0f} %) |")
    (out / "rul_history.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
