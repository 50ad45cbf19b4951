"""What the official PHM 2012 score on the five test bearings rewards: a diagnostic, no model.

The challenge truncated each test bearing's record at a point of the organisers' choosing and
scores the RUL predicted there. On the five test bearings here those points fall at 61-97 % of
life. This script scores the plainest possible rule, RUL = c x elapsed operating time, with c
chosen two ways:

- *hindsight*: the c that maximises the score on the five test answers themselves. An oracle,
  reported only to show what the bar measures; no product may use it (it is tuning on test data);
- *learning lives*: the c that maximises the mean score over 10, 20, ..., 90 % of life of a
  bearing (what a rule fitted on the learning bearings without knowing where the organisers
  truncate would choose; the ratio (1 - f) / f does not depend on the bearing's life).

If the hindsight ratio beats the bar and the learning-lives ratio scores nothing, the bar is met
by knowing the truncation fractions, not by prognostics: the prognosis models are judged by the
leave-one-bearing-out tables of rul_evaluate, where every fraction of life counts.

Run: python -m pm_monitor.evaluation.rul_truncation_bound [--out results/rul_femto]
(reads only the test bearings' metadata and time stamps; a second).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.core.rul.distribution import phm_accuracy
from pm_monitor.datasets.femto import load_all

BAR = 0.31  # the 2012 winner's reported score (issue 19)
RATIOS = np.geomspace(0.01, 10.0, 3000)
LIFE_FRACTIONS = np.arange(1, 10) / 10


def test_points() -> list[dict]:
    """Each test bearing's elapsed time and official RUL at its truncation snapshot."""
    rows = []
    for bearing in load_all():
        if bearing.truncation_index is None:
            continue
        pos = int(np.flatnonzero(bearing.snapshot_index == bearing.truncation_index)[0])
        elapsed = float(bearing.t_s[pos])
        rows.append({"bearing": bearing.name, "elapsed_s": elapsed,
                     "official_rul_s": float(bearing.actual_rul_s),
                     "fraction_of_life": elapsed / (elapsed + float(bearing.actual_rul_s))})
    return rows


def ratio_scores(elapsed: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Mean PHM score of RUL = c x elapsed for every c in RATIOS."""
    return phm_accuracy(actual[None, :], RATIOS[:, None] * elapsed[None, :]).mean(axis=1)


def evaluate() -> dict:
    points = test_points()
    elapsed = np.array([p["elapsed_s"] for p in points])
    actual = np.array([p["official_rul_s"] for p in points])
    on_test = ratio_scores(elapsed, actual)
    # any bearing at fraction f of its life: elapsed f L, RUL (1 - f) L
    over_life = ratio_scores(LIFE_FRACTIONS, 1.0 - LIFE_FRACTIONS)
    hindsight, learned = float(RATIOS[np.argmax(on_test)]), float(RATIOS[np.argmax(over_life)])
    result = {"bar": BAR, "points": points, "ratios": {}}
    for label, c in (("hindsight_on_test_answers", hindsight), ("learning_lives", learned)):
        per_bearing = phm_accuracy(actual, c * elapsed)
        result["ratios"][label] = {
            "c": c, "score": float(per_bearing.mean()),
            "per_bearing": {p["bearing"]: float(a) for p, a in zip(points, per_bearing,
                                                                    strict=True)}}
    result["curve"] = {"c": RATIOS.tolist(), "score_on_test": on_test.tolist(),
                       "score_over_life": over_life.tolist()}
    return result


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "truncation_bound.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["# What the official protocol's score rewards (RUL = c x elapsed, no model)", "",
             "| bearing | elapsed at truncation s | official RUL s | fraction of life |",
             "|---|---|---|---|"]
    lines += [f"| {p['bearing']} | {p['elapsed_s']:.0f} | {p['official_rul_s']:.0f} | "
              f"{p['fraction_of_life']:.2f} |" for p in result["points"]]
    lines += ["", "| c chosen on | c | score on the 5 test bearings | per bearing |",
              "|---|---|---|---|"]
    for label, r in result["ratios"].items():
        per = ", ".join(f"{k} {v:.3f}" for k, v in r["per_bearing"].items())
        lines.append(f"| {label} | {r['c']:.3f} | {r['score']:.3f} | {per} |")
    lines += ["", f"Bar: {result['bar']}. The hindsight ratio is an oracle (chosen on the test "
              "answers): it shows that the score at these five points is met by knowing where "
              "the organisers truncated, not a method to use."]
    (out / "truncation_bound.md").write_text("\n".join(lines) + "\n")
    curve = result["curve"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogx(curve["c"], curve["score_on_test"], label="on the 5 test truncation points")
    ax.semilogx(curve["c"], curve["score_over_life"], label="at 10-90 % of any life")
    ax.axhline(result["bar"], color="k", ls=":", label=f"bar {result['bar']}")
    for label, r in result["ratios"].items():
        ax.axvline(r["c"], color="grey", ls="--", lw=0.8)
        ax.annotate(label, (r["c"], 0.9), rotation=90, fontsize=7, va="top")
    ax.set(xlabel="c in RUL = c x elapsed", ylabel="mean PHM 2012 score", ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "truncation_bound.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/rul_femto"))
    args = parser.parse_args(argv)
    result = evaluate()
    write(result, args.out)
    print((args.out / "truncation_bound.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
