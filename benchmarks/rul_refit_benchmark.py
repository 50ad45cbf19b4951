"""What a RUL model update costs an asset's estimates: real FEMTO test bearings through the live
estimator with model M1 up to 25 / 50 / 75 / 90 % of life, then the software update: the
stored state read by a refitted model (core/rul/state.py migration), and the rest of the life
under it. Two refits (benchmarks/rul_refit_models.py): M2, another FitConfig on the same
bearings (the same failure levels), and M2s, the same design on 5 of the 6 learning bearings
(other failure levels: the damage and its Kalman filter are rescaled).

Compared on the snapshots after the switch, against the true remaining life (for each refit):
- "migrated": M1 -> refit through the state file (this change);
- "uninterrupted": the refit from the start of life (the best a migration could do);
- "reset": what the previous release asked for (the state refused, nothing valid until
  `~/commission reset`): the refit on a new asset from the switch on, operating time 0 and a new
  commissioning on the (possibly degraded) bearing;
- "M1 kept": no update at all (context).
And M3, a model whose damage score has another reference length: "migrated" keeps operating
time and onset; after the onset its condition-based estimates are never valid (the reference
cannot be taken again on a degraded bearing), before the onset the prior goes on valid.

The models (benchmarks/rul_refit_models.py) are fitted on FEMTO's learning bearings only;
the bearings reported here are test bearings none of them saw. Metrics per estimate after the
switch: share valid; over the valid ones: MAE of the point (s) and coverage of the 80 %
interval; "mean abs diff to uninterrupted": mean |point - the uninterrupted run's point| over
the estimates of both (same stamps).

    PYTHONPATH=$PWD nice -n 10 python benchmarks/rul_refit_benchmark.py [--bearings ...]
Writes results/rul_state/refit.json, refit.md, refit.png (~13 min after the models exist,
on the shared 2-core machine).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from rul_refit_models import fit_all

from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.core.rul.state import RulStateStore
from pm_monitor.datasets.femto import load_bearing

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "config" / "assets" / "femto_bearing.yaml"
EPOCH_NS = 1_700_000_000 * 10**9
FRACTIONS = (0.25, 0.5, 0.75, 0.9)
M1, M2, M2S, M3 = ("M1_shipped_design", "M2_refit_round2_config", "M2s_refit_5_bearings",
                   "M3_reference_300s")
REFITS = (M2, M2S)  # same damage score: migrated with the memory; compared with a reset


class PlainStore(RulStateStore):
    """The state store without the fsync of the atomic write (the benchmark measures
    estimates, not disks; rul_state_benchmark.py times the real writes)."""

    def save(self, asset_id: str, content: dict) -> Path:
        path = self.path(asset_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, allow_nan=True))
        return path


def chunks(bearing) -> list:
    acc, t_s, index = bearing.acc_g, bearing.t_s, bearing.snapshot_index
    return [(EPOCH_NS + round(t_s[k] * 1e9), int(index[k]) * acc.shape[1], acc[k].reshape(-1))
            for k in range(bearing.n_snapshots)]


def estimator(model: PrognosisModel, bearing, root: Path | None) -> LiveRulEstimator:
    config = LiveConfig(update_period_s=10.0, rpm=bearing.rpm, load_n=bearing.load_n,
                        count_downtime=True)
    stores = ((ReferenceStore(root).part("rul_snapshots"), PlainStore(root / "rul_state"))
              if root is not None else (None, None))
    return LiveRulEstimator(model, config, load_asset(ASSET), *stores, asset_id="bearing")


def feed(live: LiveRulEstimator, items, fs: float) -> list:
    out = []
    for stamp, first, samples in items:
        out += live.on_chunk(stamp, fs, ["horizontal", "vertical"], "g", first, samples)
    return out


def scores(estimates: list, life_s: float, reference: dict | None = None) -> dict:
    """Share valid; MAE and 80 % coverage of the valid ones against the true remaining life
    (from the stamp: the bearing's own time, whatever the estimator believes its age is);
    mean |point - reference's point| at the same stamps."""
    truth = np.array([max(life_s - (e.stamp_ns - EPOCH_NS) / 1e9, 0.0) for e in estimates])
    valid = np.array([bool(e.valid) for e in estimates])
    point = np.array([e.rul_s for e in estimates])
    lower = np.array([e.lower_s for e in estimates])
    upper = np.array([e.upper_s for e in estimates])
    out = {"estimates": len(estimates), "valid_share": float(valid.mean()) if valid.size else 0.0,
           "mae_s": float(np.abs(point - truth)[valid].mean()) if valid.any() else None,
           "coverage": (float(((lower <= truth) & (truth <= upper))[valid].mean())
                        if valid.any() else None)}
    if reference is not None:
        pairs = [(e.rul_s, reference[e.stamp_ns].rul_s) for e in estimates
                 if e.stamp_ns in reference]
        out["mae_vs_uninterrupted_s"] = (float(np.mean([abs(a - b) for a, b in pairs]))
                                         if pairs else None)
    return out


def run_bearing(models: dict[str, PrognosisModel], name: str) -> dict:
    bearing = load_bearing(name)
    items, n, fs = chunks(bearing), bearing.n_snapshots, bearing.fs
    started = time.time()
    whole = {m: feed(estimator(models[m], bearing, None), items, fs) for m in (*REFITS, M3)}
    by_stamp = {m: {e.stamp_ns: e for e in est} for m, est in whole.items()}
    cuts = {f: int(f * n) for f in FRACTIONS}
    rows, tracks = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        live, m1_estimates, done = estimator(models[M1], bearing, Path(tmp) / "m1"), [], 0
        for fraction, k in cuts.items():  # M1 up to each switch, its files copied there
            m1_estimates += feed(live, items[done:k], fs)
            done = k
            shutil.copytree(Path(tmp) / "m1", Path(tmp) / f"at_{fraction}")
        m1_estimates += feed(live, items[done:], fs)
        for fraction, k in cuts.items():
            row = {"switch_snapshot": k, "switch_s": float(bearing.t_s[k])}
            for m in (*REFITS, M3):
                root = Path(tmp) / f"{m}_{fraction}"
                shutil.copytree(Path(tmp) / f"at_{fraction}", root)
                migrated_live = estimator(models[m], bearing, root)
                migrated = feed(migrated_live, items[k:], fs)
                row[f"{m}: migrated"] = scores(migrated, bearing.life_s, by_stamp[m])
                row[f"{m}: migrated"]["status"] = migrated_live.state_status.split(":")[0]
                row[f"{m}: uninterrupted"] = scores(
                    [e for e in whole[m] if e.stamp_ns >= items[k][0]], bearing.life_s)
                if m in REFITS:
                    reset = feed(estimator(models[m], bearing, None), items[k:], fs)
                    row[f"{m}: reset"] = scores(reset, bearing.life_s, by_stamp[m])
                if m == M2S:
                    tracks[fraction] = {"migrated": migrated, "reset": reset}
            row["M1 kept"] = scores([e for e in m1_estimates if e.stamp_ns >= items[k][0]],
                                    bearing.life_s)
            rows[f"{fraction:.0%}"] = row
    onset = next((e.onset_s for e in whole[M2S] if e.onset_s is not None), None)
    print(f"{name}: {n} snapshots, {time.time() - started:.0f} s", flush=True)
    return {"bearing": name, "snapshots": n, "life_s": bearing.life_s,
            "onset_s_uninterrupted_M2s": onset, "switches": rows,
            "_tracks": {"whole": whole[M2S], "m1": m1_estimates, "by_fraction": tracks}}


METHODS = (*(f"{m}: {kind}" for m in REFITS for kind in ("migrated", "uninterrupted", "reset")),
           "M1 kept", f"{M3}: migrated", f"{M3}: uninterrupted")


def pooled(results: list[dict]) -> dict:
    """Per switch point and method, the estimates of all bearings pooled (weighted by count)."""
    out: dict[str, dict[str, dict]] = {}
    for fraction in (f"{f:.0%}" for f in FRACTIONS):
        out[fraction] = {}
        for method in METHODS:
            cells = [r["switches"][fraction][method] for r in results]
            n = np.array([c["estimates"] for c in cells], dtype=float)
            n_valid = n * np.array([c["valid_share"] for c in cells])

            def mean(key: str, weights: np.ndarray, cells=cells) -> float | None:
                pairs = [(c[key], w) for c, w in zip(cells, weights, strict=True)
                         if c.get(key) is not None and w > 0]
                return (float(sum(v * w for v, w in pairs) / sum(w for _, w in pairs))
                        if pairs else None)
            out[fraction][method] = {
                "estimates": int(n.sum()), "valid_share": float(n_valid.sum() / n.sum()),
                "mae_s": mean("mae_s", n_valid), "coverage": mean("coverage", n_valid),
                "mae_vs_uninterrupted_s": mean("mae_vs_uninterrupted_s", n)}
    return out


def _f(v, fmt: str = "{:.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def markdown(results: list[dict], pool: dict) -> str:
    lines = ["# A RUL model update (refit) on FEMTO test bearings", "",
             f"Bearings: {', '.join(r['bearing'] for r in results)} (test bearings; models "
             "fitted on the learning bearings only: M2s on 5 of the 6, the others on all 6). "
             "M1 = the shipped design; M2 = refit with round 2's FitConfig (same failure "
             "levels); M2s = the shipped design refitted without Bearing1_1 (other failure "
             "levels, durations, calibration); M3 = a damage-score reference of 300 s instead "
             "of 600 s. `python benchmarks/rul_refit_benchmark.py`.", "",
             "Switch from M1 to the new model at the given "
             "share of life; scores over every estimate after the switch, pooled over the "
             "bearings (MAE and coverage over the valid ones).", "",
             "| switch | method | estimates | valid share | MAE (s) | 80 % coverage | "
             "mean abs diff to uninterrupted (s) |", "|---|---|---|---|---|---|---|"]
    for fraction, methods in pool.items():
        for method, c in methods.items():
            lines.append(f"| {fraction} | {method} | {c['estimates']} | "
                         f"{c['valid_share']:.2f} | {_f(c['mae_s'])} | "
                         f"{_f(c['coverage'], '{:.2f}')} | "
                         f"{_f(c['mae_vs_uninterrupted_s'])} |")
    lines += ["", "Onset (first confirmed not-Normal state, uninterrupted M2s): "
              + ", ".join(f"{r['bearing']} {_f(r['onset_s_uninterrupted_M2s'])} s of "
                          f"{r['life_s']:.0f} s" for r in results) + ".",
              "", "Per bearing (M2s, the refit on other data):", "",
              "| bearing | switch | migrated MAE / cov / valid | uninterrupted MAE / cov / "
              "valid | reset MAE / cov / valid | migrated vs uninterrupted (s) |",
              "|---|---|---|---|---|---|"]
    for r in results:
        for fraction, row in r["switches"].items():
            cells = [row[f"{M2S}: {m}"] for m in ("migrated", "uninterrupted", "reset")]
            lines.append(f"| {r['bearing']} | {fraction} (t={row['switch_s']:.0f} s) | "
                         + " | ".join(f"{_f(c['mae_s'])} / {_f(c['coverage'], '{:.2f}')} / "
                                      f"{c['valid_share']:.2f}" for c in cells)
                         + f" | {_f(cells[0]['mae_vs_uninterrupted_s'])} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], pool: dict, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    r = max(results, key=lambda x: x["snapshots"])
    onset = r["onset_s_uninterrupted_M2s"]
    # the first switch after the onset (where a model change matters most), else mid-life
    fraction = next((f for f in FRACTIONS if onset is not None
                     and r["switches"][f"{f:.0%}"]["switch_s"] > onset), 0.5)
    tracks = r["_tracks"]

    def line(ax, estimates, label, **kw):
        t = [(e.stamp_ns - EPOCH_NS) / 1e9 / 3600 for e in estimates]
        ax.plot(t, [e.rul_s / 3600 if e.valid else np.nan for e in estimates], label=label, **kw)
    ax = axes[0]
    t_end = r["life_s"] / 3600
    ax.plot([0, t_end], [t_end, 0], "k--", lw=1, label="true remaining life")
    line(ax, tracks["m1"], "M1 (no update)", color="0.6", lw=1)
    line(ax, tracks["whole"], "M2s uninterrupted", color="tab:blue", lw=1.5)
    line(ax, tracks["by_fraction"][fraction]["migrated"], f"M1 -> M2s migrated at {fraction:.0%}",
         color="tab:green", lw=1.2)
    line(ax, tracks["by_fraction"][fraction]["reset"], f"reset at {fraction:.0%} (time lost)",
         color="tab:red", lw=1.2)
    ax.set(title=f"{r['bearing']}: valid point estimates", xlabel="operating time (h)",
           ylabel="RUL (h)", ylim=(0, 2.5 * t_end))
    ax.legend(fontsize=8)
    ax = axes[1]
    labels = list(pool)
    width = 0.2
    for i, method in enumerate((f"{M2S}: migrated", f"{M2S}: uninterrupted", f"{M2S}: reset",
                                "M1 kept")):
        values = [pool[f][method]["mae_s"] or np.nan for f in labels]
        ax.bar(np.arange(len(labels)) + (i - 1.5) * width, np.asarray(values) / 3600, width,
               label=method.replace(f"{M2S}: ", "M2s "))
    ax.set_xticks(np.arange(len(labels)), [f"switch at {f}" for f in labels])
    ax.set(ylabel="MAE of valid estimates after the switch (h)",
           title="pooled over the bearings")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bearings", nargs="+",
                        default=["Bearing3_3", "Bearing2_4", "Bearing2_3", "Bearing1_3"])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "rul_state")
    args = parser.parse_args()
    models = fit_all()
    results = [run_bearing(models, name) for name in args.bearings]
    pool = pooled(results)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(results, pool, args.out / "refit.png")
    for r in results:
        del r["_tracks"]
    (args.out / "refit.json").write_text(json.dumps({"pooled": pool, "bearings": results},
                                                    indent=1) + "\n")
    (args.out / "refit.md").write_text(markdown(results, pool))
    print(markdown(results, pool))


if __name__ == "__main__":
    main()
