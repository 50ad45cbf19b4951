"""Protocol (c): the default RUL model on the simulated rig's held-out run-to-failure runs, and
the shipped rig RUL model (fitted on all drawn runs) that the monitor's RUL stage runs.

python -m pm_monitor.evaluation.rul_rig [--out results/rul_rig] [--runs 10] [--ship MODEL.json]

The rig's shipped fault schedules (config/fault_schedules) are three demos (lives 200-2000 s,
onsets after 30-600 s): too few for leave-one-out. This protocol therefore draws `runs`
schedules of the same simulator (pm_monitor/sim), each a DE-bearing outer- or inner-race fault
with its own life, onset and growth, on the time scale of the demo (the main demo's schedule:
onset 40 s, failure 200 s; the distributions are below, this protocol's assumption, not
measured; the demo's schedules are not among the drawn runs), renders the accelerometer (x =
horizontal, y = vertical, m/s^2 -> g) as 0.1 s snapshots every 1 s (what the monitor's RUL
stage takes from its analysis windows: models/rig_baseline/model_set.json), commissions the
onset monitor and the damage reference on the first 30 s, and evaluates leave-one-run-out:
the held-out run never enters the prior, failure levels or calibration of the model that
predicts it (rul_fit.fit_model sees the others only). The onset
is the any-machine monitor's first confirmed not-Normal state (config/assets/rig_motor.yaml,
the default HealthRules, as the rig's other evaluations run; nothing tuned here), judged on the
same snapshots the live estimator would take (core/rul/live.onset_monitor).
The default is RIG_FIT (round 4's design, the prior fused after onset); the other design
variants (RIG_VARIANTS: the similarity view, calibration groups, no prior after onset) beside it
with their interval coverage, and "always 10 s",
the median life of the training runs and the calibrated prior alone (its PHM-optimal point, and
its median, like for like with the default's).
Coverage of the 80 % interval is reported at the four life fractions and over every held-out
snapshot after the reference (as FEMTO's protocol (b) does).
`--ship` writes the model fitted on all drawn runs (models/rul_rig/rul_prognosis.json); the
shipped model is then also run on the rig's own held-out fault runs (rig_heldout_runs).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.core.acceleration_units import acceleration_scale
from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.rul.distribution import phm_accuracy
from pm_monitor.core.rul.live import judged_state, onset_monitor
from pm_monitor.core.rul.onset import indicator_names, snapshot_indicators
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.evaluation.rul_evaluate import prior_alone
from pm_monitor.sim import DE_BEARING, FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rul_fit import FitConfig, History, fit_model, onset_config, run_tracker
from pm_monitor.training.rul_indicators import REPO_ROOT

SNAPSHOT_PERIOD_S = 1.0  # the monitor's RUL stage: one snapshot per second of its windows
SNAPSHOT_S = 0.1
LIFE_FRACTIONS = (0.25, 0.5, 0.75, 0.9)
SHIPPED_RIG_MODEL = REPO_ROOT / "models" / "rul_rig" / "rul_prognosis.json"
RIG_ASSET = REPO_ROOT / "config" / "assets" / "rig_motor.yaml"
# On the demo's time scale: commissioning (onset monitor and damage reference) on the first
# 30 s, damage smoothed over 5 s, calibration points every 5 s of each inner held-out run.
RIG_BASE = replace(FitConfig(), asset_type="sim_rig", dynamic_load_rating_n=None,
                   reference_s=30.0, smooth_s=5.0, calibration_step_s=5.0)
# The rig model's design variants, each a change of RIG_BASE, reported beside the shipped one.
# Round 5: without the prior after onset the leave-one-run-out PHM score rose (0.255 against
# 0.200), but on every held-out check the condition-based interval covered less (the rig's own
# fault runs 0.63 against 0.67, the main demo 0.52 against 0.67-0.83) at about the same MAE:
# the prior is what widens the late interval. A change that does not hold on held-out data is
# not shipped; the rig has no selection rule that weighs calibration yet (docs/sections/rul.md).
RIG_VARIANTS = {"prior_after_onset": {},
                "with_similarity": {"similarity": True},
                "with_calibration_groups": {"calibration_groups": True},
                "no_prior_after_onset": {"prior_after_onset": False}}
RIG_VARIANT = "prior_after_onset"
RIG_FIT = replace(RIG_BASE, **RIG_VARIANTS[RIG_VARIANT])
# The drawn runs: life = LIFE_SCALE_S x Weibull(LIFE_SHAPE), at least MIN_LIFE_S; onset at a
# uniform fraction of life, never before the reference has been commissioned (+ 10 s).
LIFE_SCALE_S = 260.0
LIFE_SHAPE = 2.5
MIN_LIFE_S = 120.0
ONSET_FRACTION = (0.2, 0.7)
GROWTH = (1.0, 4.0)
# the variants beside the default (column name -> its config)
OTHERS = {name: replace(RIG_BASE, **change) for name, change in RIG_VARIANTS.items()
          if name != RIG_VARIANT}
METHODS = ("default", "default_phm_optimal", *OTHERS, "prior_alone", "prior_alone_median",
           "median_life_of_training_runs", "always_10s")
# the methods whose 80 % interval is reported (column -> its lower / upper columns)
INTERVALS = {"default": ("default_lower", "default_upper"),
             **{name: (f"{name}_lower", f"{name}_upper") for name in OTHERS}}


def draw_schedule(k: int) -> FaultSchedule:
    rng = np.random.default_rng(1000 + k)
    life = max(LIFE_SCALE_S * float(rng.weibull(LIFE_SHAPE)), MIN_LIFE_S)
    life = round(life / SNAPSHOT_PERIOD_S) * SNAPSHOT_PERIOD_S
    onset = max(round(float(rng.uniform(*ONSET_FRACTION)) * life), RIG_FIT.reference_s + 10)
    fault = ScheduledFault(str(rng.choice(["outer_race", "inner_race"])), DE_BEARING,
                           onset_s=onset,
                           failure_s=life, growth=float(rng.uniform(*GROWTH)))
    return FaultSchedule((fault,), f"drawn run {k}")


def simulate(k: int, config: RigConfig | None = None) -> History:
    """One drawn run as an indicator history (snapshots until the failure time)."""
    schedule = draw_schedule(k)
    return simulate_schedule(schedule, k, f"run{k:02d}_{schedule.faults[0].fault_type}", config)


def simulate_schedule(schedule: FaultSchedule, seed: int, name: str,
                      config: RigConfig | None = None) -> History:
    """A one-fault schedule as an indicator history, snapshots as the RUL stage takes them."""
    config = config or RigConfig()
    sim = RigSimulator(config, schedule, seed=seed)
    rate = config.accel_rate
    n = round(SNAPSHOT_S * rate)
    life = schedule.faults[0].failure_s
    t_s = np.arange(SNAPSHOT_PERIOD_S, life + 1e-6, SNAPSHOT_PERIOD_S)
    to_g = acceleration_scale("m/s^2", "g")
    monitor = onset_monitor(load_asset(RIG_ASSET), ["x", "y"], rate, onset_config(RIG_FIT),
                            SNAPSHOT_S, SNAPSHOT_PERIOD_S)
    rows, states = [], []
    for t in t_s:
        acc = sim.accel(round(t * rate) - n, n).astype(np.float64) * to_g
        rows.append(snapshot_indicators(acc[:, 0], acc[:, 1], rate))
        state = judged_state(monitor.process(acc[:, :2], "g"))
        states.append(-1 if state is None else int(state))
    return History(name, t_s, np.stack(rows),
                   indicator_names(rate), OperatingCondition(), float(life),
                   states=np.array(states))


def rig_heldout_runs(model: PrognosisModel) -> dict:
    """The shipped model on the rig's own held-out fault runs (training/run_plan.py, split
    "test": outer / inner race and ball faults at both bearings, onsets 10-60 s, 150-320 s to
    failure; never seen by the RUL fit, and two of the three fault types and the NDE bearing
    are not in the drawn runs it was fitted on). Every snapshot after the reference and before
    the failure: MAE and 80 % coverage of the valid estimates, per evidence kind."""
    from pm_monitor.training.run_plan import plan_runs

    per_run, pooled = {}, {kind: [] for kind in ("population_prior", "condition_based")}
    for spec in plan_runs("test"):
        if not spec.schedule.faults:
            continue
        fault = spec.schedule.faults[0]
        history = simulate_schedule(spec.schedule, spec.seed, spec.name)
        at = history.t_s[(history.t_s > RIG_FIT.reference_s) & (history.t_s < history.life_s)]
        rows = []
        for est in run_tracker(model, history, at):
            if est.valid:
                truth = history.life_s - est.elapsed_s
                rows.append((est.distribution.evidence, abs(est.rul_s - truth),
                             bool(est.lower_s <= truth <= est.upper_s)))
        for kind, error, covered in rows:
            pooled[kind].append((error, covered))
        onset = history.onset_s()
        per_run[spec.name] = {
            "life_s": history.life_s, "true_onset_s": fault.onset_s, "onset_s": onset,
            "valid": len(rows), "snapshots": len(at),
            "mae_s": float(np.mean([r[1] for r in rows])) if rows else None,
            "coverage": float(np.mean([r[2] for r in rows])) if rows else None}
        print(f"  rig held-out {spec.name}: onset "
              f"{'none' if onset is None else f'{onset:.0f} s'} (true {fault.onset_s:.0f} s), "
              f"MAE {per_run[spec.name]['mae_s']}", flush=True)
    summary = {kind: {"estimates": len(v), "mae_s": float(np.mean([e for e, _ in v])),
                      "coverage": float(np.mean([c for _, c in v]))}
               for kind, v in pooled.items() if v}
    return {"runs": per_run, "by_evidence": summary}


def evaluate_run(model: PrognosisModel, train: list[History], held: History,
                 others: dict[str, PrognosisModel]) -> list[dict]:
    """One row per life fraction; `others` (column -> model, see OTHERS) add their point and
    80 % interval as `<column>`, `<column>_lower`, `<column>_upper`."""
    at = np.array([f * held.life_s for f in LIFE_FRACTIONS])
    rows = []
    median_life = float(np.median([h.life_s for h in train]))
    columns: list[dict] = [{} for _ in at]
    for name, other in others.items():
        for col, e in zip(columns, run_tracker(other, held, at), strict=True):
            col.update({name: e.rul_s, f"{name}_lower": e.lower_s, f"{name}_upper": e.upper_s})
    for f, est, col in zip(LIFE_FRACTIONS, run_tracker(model, held, at), columns,
                           strict=True):
        truth = held.life_s - est.elapsed_s
        prior = prior_alone(model, held.condition, est.elapsed_s)
        rows.append({
            "run": held.name, "point": f"life_{int(f * 100)}", "elapsed_s": est.elapsed_s,
            "life_s": held.life_s, "true_rul_s": truth, "evidence": est.evidence,
            "valid": est.valid, "default": est.rul_s,
            "default_phm_optimal": est.distribution.phm_optimal_s(),
            "default_lower": est.lower_s, "default_upper": est.upper_s,
            "prior_alone": prior.phm_optimal_s(),  # its best point for this score
            "prior_alone_median": prior.median_s,  # like for like with the default's median
            "median_life_of_training_runs": max(median_life - est.elapsed_s, 0.0),
            "always_10s": 10.0, **col})
    return rows


def every_snapshot_coverage(model: PrognosisModel, held: History) -> tuple[int, int]:
    """(covered, count) of the 80 % interval over every held-out snapshot after the
    reference, before the failure."""
    at = held.t_s[(held.t_s > RIG_FIT.reference_s) & (held.t_s < held.life_s)]
    estimates = run_tracker(model, held, at, with_point=False)
    covered = sum(e.lower_s <= held.life_s - e.elapsed_s <= e.upper_s for e in estimates)
    return int(covered), len(estimates)


def summarise(rows: list[dict]) -> dict:
    truth = np.array([r["true_rul_s"] for r in rows])
    life = np.array([r["life_s"] for r in rows])
    out = {}
    for method in METHODS:
        pred = np.array([r.get(method, np.nan) for r in rows], dtype=float)
        if np.isfinite(pred).all():
            out[method] = {"phm_score": float(phm_accuracy(truth, pred).mean()),
                           "nmae": float(np.mean(np.abs(pred - truth) / life))}
    for method, (lo, hi) in INTERVALS.items():
        if method not in out:
            continue
        lower = np.array([r[lo] for r in rows])
        upper = np.array([r[hi] for r in rows])
        out[method]["coverage"] = float(np.mean((lower <= truth) & (truth <= upper)))
        out[method]["median_width_s"] = float(np.median(upper - lower))
    return out


def run(out: Path, n_runs: int, ship: Path | None = None) -> dict:
    started = time.time()
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for k in range(n_runs):
        runs.append(simulate(k))
        print(f"simulated {runs[-1].name}: life {runs[-1].life_s:.0f} s", flush=True)
    rows, onsets, every = [], {}, {}
    every_other: dict[str, dict] = {name: {} for name in OTHERS}
    for held in runs:
        train = [h for h in runs if h.name != held.name]
        model = fit_model(train, RIG_FIT)
        others = {name: fit_model(train, config) for name, config in OTHERS.items()}
        rows += evaluate_run(model, train, held, others)
        every[held.name] = every_snapshot_coverage(model, held)
        for name, other in others.items():
            every_other[name][held.name] = every_snapshot_coverage(other, held)
        last = run_tracker(model, held, np.array([held.life_s]), with_point=False)[-1]
        true_onset = draw_schedule(runs.index(held)).faults[0].onset_s
        onsets[held.name] = {"onset_s": last.onset_s, "true_onset_s": true_onset,
                             "life_s": held.life_s,
                             "life_fraction": None if last.onset_s is None
                             else last.onset_s / held.life_s,
                             "before_true_onset": bool(last.onset_s is not None
                                                       and last.onset_s < true_onset)}
        print(f"  held out {held.name}: onset "
              f"{'none' if last.onset_s is None else f'{last.onset_s:.0f} s'} (true "
              f"{true_onset:.0f} s)", flush=True)
    covered, count = (sum(v[i] for v in every.values()) for i in (0, 1))
    result = {"runs": n_runs, "rows": rows, "onsets": onsets,
              "every_snapshot_coverage": {
                  "pooled": covered / count,
                  "mean_of_runs": float(np.mean([c / n for c, n in every.values()])),
                  "per_run": {k: c / n for k, (c, n) in every.items()}, "snapshots": count,
                  "variants": {name: {
                      "pooled": sum(c for c, _ in per_run.values()) / count,
                      "mean_of_runs": float(np.mean([c / n for c, n in per_run.values()]))}
                      for name, per_run in every_other.items()}},
              "by_point": {f"life_{int(f * 100)}": summarise(
                  [r for r in rows if r["point"] == f"life_{int(f * 100)}"])
                  for f in LIFE_FRACTIONS},
              "all_points": summarise(rows), "seconds": time.time() - started}
    if ship is not None:
        shipped = fit_model(runs, RIG_FIT)
        shipped.save(ship)
        result["shipped_model"] = {"path": str(ship), "runs": [h.name for h in runs]}
        print(f"wrote {ship} (fitted on all {len(runs)} drawn runs)", flush=True)
    else:
        shipped = PrognosisModel.load(SHIPPED_RIG_MODEL)
    result["rig_heldout_runs"] = rig_heldout_runs(shipped)
    result["seconds"] = time.time() - started
    (out / "metrics.json").write_text(json.dumps(result, indent=1, default=float))
    (out / "metrics.md").write_text(markdown(result))
    plot(result, out / "rul_rig_scores.png")
    print(markdown(result))
    return result


def markdown(result: dict) -> str:
    lines = ["# RUL on the simulated rig: leave one drawn run out (protocol (c))", "",
             f"{result['runs']} drawn runs (python -m pm_monitor.evaluation.rul_rig; schedules "
             "drawn as in its docstring).", "",
             "| points | method | PHM score | normalised MAE | 80 % coverage | median width s |",
             "|---|---|---|---|---|---|"]
    for label, summary in (*result["by_point"].items(), ("all", result["all_points"])):
        for method, m in summary.items():
            cov = (f"{m['coverage']:.2f} | {m['median_width_s']:.0f}" if "coverage" in m
                   else "- | -")
            lines.append(f"| {label} | {method} | {m['phm_score']:.3f} | {m['nmae']:.3f} | "
                         f"{cov} |")
    lines += ["", "| run | life s | true onset s | declared onset s | before the true onset |",
              "|---|---|---|---|---|"]
    for name, o in result["onsets"].items():
        declared = "-" if o["onset_s"] is None else f"{o['onset_s']:.0f}"
        lines.append(f"| {name} | {o['life_s']:.0f} | {o['true_onset_s']:.0f} | {declared} | "
                     f"{o['before_true_onset']} |")
    lines += ["", f"The default rows are the shipped design, {RIG_VARIANT}; the other variants "
              "are changes of the same base (RIG_VARIANTS)."]
    every = result["every_snapshot_coverage"]
    lines += ["", f"80 % interval coverage over every held-out snapshot after the reference "
              f"({every['snapshots']} snapshots): {every['pooled']:.2f} pooled, "
              f"{every['mean_of_runs']:.2f} mean of runs (per run "
              + ", ".join(f"{v:.2f}" for v in every["per_run"].values()) + "); "
              + "; ".join(f"{name} {v['pooled']:.2f} pooled, {v['mean_of_runs']:.2f} mean of "
                          "runs" for name, v in every["variants"].items()) + "."]
    if "shipped_model" in result:
        lines += ["", f"Shipped model {result['shipped_model']['path']}: fitted on all "
                  f"{len(result['shipped_model']['runs'])} drawn runs."]
    held = result.get("rig_heldout_runs")
    if held:
        lines += ["", "## The shipped model on the rig's own held-out fault runs "
                  "(training/run_plan.py split test; every snapshot after the reference, "
                  "valid estimates)", "",
                  "| run | life s | true onset s | declared onset s | valid / snapshots | "
                  "MAE s | 80 % coverage |", "|---|---|---|---|---|---|---|"]
        for name, r in held["runs"].items():
            onset = "-" if r["onset_s"] is None else f"{r['onset_s']:.0f}"
            mae = "-" if r["mae_s"] is None else f"{r['mae_s']:.1f}"
            cov = "-" if r["coverage"] is None else f"{r['coverage']:.2f}"
            lines.append(f"| {name} | {r['life_s']:.0f} | {r['true_onset_s']:.0f} | {onset} | "
                         f"{r['valid']} / {r['snapshots']} | {mae} | {cov} |")
        lines += [""] + [f"- {kind}: {v['estimates']} estimates, MAE {v['mae_s']:.1f} s, "
                         f"80 % coverage {v['coverage']:.2f}"
                         for kind, v in held["by_evidence"].items()]
    lines += ["", f"Run time {result['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    labels = list(result["by_point"])
    methods = [m for m in METHODS if m in result["all_points"]]
    x = np.arange(len(labels))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, method in enumerate(methods):
        ax.bar(x + i * width - 0.4 + width / 2,
               [result["by_point"][p].get(method, {}).get("phm_score", 0.0) for p in labels],
               width, label=method)
    ax.set_xticks(x, labels)
    ax.set_ylabel("PHM 2012 score (held-out runs)")
    ax.set_title("Simulated rig, leave one run out")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "rul_rig")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ship", type=Path, default=None,
                        help=f"also fit on all runs and write the model (the shipped one: "
                             f"{SHIPPED_RIG_MODEL.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)
    run(args.out, args.runs, args.ship)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
