"""FEMTO part of the any-machine evaluation: 11 run-to-failure bearings, each commissioned on
its own first 10 minutes, first-half alarms and lead time beside the issue's RMS rule.

Every bearing is played through the live path (`AssetMonitor.process`) once with the default
rules; its per-window inputs to the state machine (per-axis levels, impulsive flag, ISO zone,
named defect) are cached. The trend-rise ratio (`HealthRules.trend_ratio`, core/condition/health.py)
is the one constant tuned on FEMTO, so the headline is leave-one-bearing-out (LOBO): for bearing
k, `HealthStateMachine` is replayed on the cached inputs of the OTHER 10 bearings for every
ratio of a 1 dB grid, the most sensitive ratio with 0 first-half alarms and <= 1 % first-half
not-Normal windows on those 10 is chosen, and bearing k is judged with it. The replay is the
same state machine on the same inputs, so it reproduces the live run exactly (checked below);
the first alarm does not depend on the named-defect flag (it only lifts Pre-Warning to Warning).
The default shipped in HealthRules is the ratio this rule chooses on all 11 bearings.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from pm_monitor.core.alarms.severity_zones import IsoZone
from pm_monitor.core.assets.description import AssetDescription, ShaftSpeed, load
from pm_monitor.core.condition import defects
from pm_monitor.core.condition.health import HealthRules, HealthStateMachine
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import femto
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, fmt, log

FEMTO_COMMISSION_S = 6.0  # 60 snapshots of 0.1 s: the first 10 min (20 min when thinned k=2)
CACHE_VERSION = 2  # bump when the features or the cached fields change
TREND_GRID_DB = tuple(range(2, 13))  # trend-rise ratios tried, in 1 dB steps (+2 .. +12 dB)
MAX_FIRST_HALF_NOT_NORMAL_PCT = 1.0


def femto_asset(bearing: femto.FemtoBearing) -> AssetDescription:
    base = load(ASSETS / "femto_bearing.yaml")
    return dataclasses.replace(base, asset_id=f"femto_{bearing.name}",
                               shaft_speed=ShaftSpeed("fixed", float(bearing.rpm), 0.0, ""),
                               commissioning_s=FEMTO_COMMISSION_S)


def femto_run(bearing: femto.FemtoBearing) -> dict:
    cache = OUT / "cache" / f"femto_{bearing.name}_v{CACHE_VERSION}.npz"
    if cache.is_file():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    mon = AssetMonitor(femto_asset(bearing), ["horizontal", "vertical"], bearing.fs)
    acc = bearing.acc_g
    states, his, anomalies, rms_h, levels, impulsive, zones, named, rises = ([] for _ in range(9))
    for i in range(acc.shape[0]):
        a = mon.process(acc[i])
        states.append(int(a.state) if not a.commissioning else -1)
        his.append(a.health_indicator)
        anomalies.append(a.anomaly)
        rms_h.append(float(np.sqrt(np.mean((acc[i, :, 0] - acc[i, :, 0].mean()) ** 2))))
        levels.append(a.axis_levels if a.axis_levels.size else np.full(2, np.nan))
        impulsive.append(a.impulsive)
        zones.append(int(a.zone))
        named.append(a.diagnosis is not None and a.diagnosis.fault_type != defects.UNCERTAIN)
        rises.append(a.rise)
    out = {"t_s": bearing.t_s, "state": np.array(states), "hi": np.array(his),
           "anomaly": np.array(anomalies), "rms_h": np.array(rms_h), "levels": np.array(levels),
           "impulsive": np.array(impulsive), "zone": np.array(zones), "named": np.array(named),
           "rise": np.array(rises)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def first_alarm(t: np.ndarray, alarm: np.ndarray) -> dict:
    life = float(t[-1])
    half = t <= 0.5 * life
    idx = np.flatnonzero(alarm)
    first = int(idx[0]) if idx.size else None
    return {"first_half_alarms": int(first is not None and t[first] <= 0.5 * life),
            "alarm_fraction_of_life": None if first is None else float(t[first] / life),
            "lead_min": None if first is None else float((life - t[first]) / 60.0),
            "first_half_not_normal_pct": float(100.0 * np.mean(alarm[half]))}


def replay_states(r: dict, rules: HealthRules) -> np.ndarray:
    """The live run's state sequence under other rules: `HealthStateMachine` on the cached
    per-window inputs (-1 while commissioning)."""
    machine, out = HealthStateMachine(rules), []
    for i in range(r["state"].size):
        commissioning = bool(r["state"][i] < 0)
        hi = None if commissioning else float(r["hi"][i])
        levels = None if commissioning else r["levels"][i]
        state = machine.update(hi, bool(r["impulsive"][i]), bool(r["named"][i]),
                               IsoZone(int(r["zone"][i])), levels)
        out.append(-1 if commissioning else int(state))
    return np.array(out)


def _acceptable(rows: list[dict]) -> bool:
    return all(r["first_half_alarms"] == 0
               and r["first_half_not_normal_pct"] <= MAX_FIRST_HALF_NOT_NORMAL_PCT for r in rows)


def choose_trend_ratio(results: dict[str, dict[float, dict]], names: list[str]) -> float | None:
    """The most sensitive grid ratio with 0 first-half alarms and <= 1 % first-half not-Normal
    on the bearings `names` (None when no grid ratio is acceptable)."""
    for ratio in sorted(next(iter(results.values()))):
        if _acceptable([results[n][ratio] for n in names]):
            return ratio
    return None


def lobo_rows(runs: dict[str, dict], splits: dict[str, str]) -> tuple[list[dict], float | None,
                                                                       dict]:
    """Leave-one-bearing-out rows, the ratio chosen on all bearings, and the per-ratio rows."""
    grid = [round(10 ** (db / 20.0), 3) for db in TREND_GRID_DB]
    results = {name: {ratio: first_alarm(r["t_s"], replay_states(
        r, dataclasses.replace(HealthRules(), trend_ratio=ratio)) >= int(HealthState.PRE_WARNING))
        for ratio in grid} for name, r in runs.items()}
    rows = []
    for name, r in runs.items():
        ratio = choose_trend_ratio(results, [n for n in runs if n != name])
        rows.append({"bearing": name, "split": splits[name], "life_min": float(r["t_s"][-1] / 60),
                     "trend_ratio": ratio, **results[name][ratio]})
    per_ratio = {str(ratio): [{"bearing": n, **results[n][ratio]} for n in runs] for ratio in grid}
    return rows, choose_trend_ratio(results, list(runs)), per_ratio


def reference_rule(t: np.ndarray, rms_h: np.ndarray, z_threshold: float) -> np.ndarray:
    """Issue 18's comparison: horizontal RMS robust z vs the first 10 min, 3 in a row."""
    base = rms_h[t < 600.0]
    med = np.median(base)
    mad = 1.4826 * np.median(np.abs(base - med))
    z = (rms_h - med) / max(mad, 1e-12)
    run = np.convolve((z > z_threshold).astype(float), np.ones(3), "full")[: z.size] >= 3
    return np.maximum.accumulate(run)


def femto_section() -> dict:
    rows, rule_rows, timelines, level_only, splits = [], {5.0: [], 10.0: [], 20.0: [], 40.0: []}, \
        {}, [], {}
    no_trend = dataclasses.replace(HealthRules(), trend_ratio=float("inf"))
    for name in femto.ALL_BEARINGS:
        log(f"FEMTO {name}")
        b = femto.load_bearing(name)
        r = femto_run(b)
        alarm = r["state"] >= int(HealthState.PRE_WARNING)
        replayed = replay_states(r, HealthRules())
        if not np.array_equal(replayed, r["state"]):  # the LOBO replay must be the live path
            raise RuntimeError(f"{name}: replayed states differ from the live run")
        splits[name] = b.split
        rows.append({"bearing": name, "split": b.split, "life_min": float(r["t_s"][-1] / 60),
                     **first_alarm(r["t_s"], alarm)})
        level_only.append({"bearing": name, "split": b.split, **first_alarm(
            r["t_s"], replay_states(r, no_trend) >= int(HealthState.PRE_WARNING))})
        for z, lst in rule_rows.items():
            lst.append({"bearing": name, **first_alarm(r["t_s"],
                                                       reference_rule(r["t_s"], r["rms_h"], z))})
        timelines[name] = r
    lobo, chosen_all, per_ratio = lobo_rows(timelines, splits)
    _femto_plot(timelines)
    return {"lobo": lobo, "ours": rows, "level_only": level_only,
            "trend_ratio_default": HealthRules().trend_ratio,
            "trend_ratio_chosen_on_all": chosen_all,
            "per_trend_ratio": per_ratio,
            "reference_rule": {str(k): v for k, v in rule_rows.items()}}


def summarise(rows: list[dict]) -> dict:
    leads = [r["lead_min"] for r in rows if r["lead_min"] is not None]
    return {"units": len(rows), "first_half_alarms": sum(r["first_half_alarms"] for r in rows),
            "max_first_half_not_normal_pct": max(r["first_half_not_normal_pct"] for r in rows),
            "alarmed": len(leads), "median_lead_min": float(np.median(
                [r["lead_min"] or 0.0 for r in rows]))}


def _femto_plot(timelines: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(timelines), 1, figsize=(10, 2.0 * len(timelines)))
    colours = {-1: "lightgrey", 0: "tab:green", 1: "gold", 2: "tab:orange", 3: "tab:red"}
    for ax, (name, r) in zip(axes, timelines.items(), strict=True):
        t = r["t_s"] / 60
        ax.semilogy(t, np.where(np.isfinite(r["hi"]), r["hi"], np.nan), "k-", lw=0.6)
        ax.semilogy(t, r["rise"], color="tab:blue", lw=0.5)
        ax.axhline(HealthRules().trend_ratio, color="tab:blue", lw=0.6, ls="--")
        for s, c in colours.items():
            m = r["state"] == s
            ax.scatter(t[m], np.full(m.sum(), 0.5), c=c, s=4, marker="s")
        ax.axhline(2.0, color="gold", lw=0.8, ls="--")
        ax.axvline(t[-1] / 2, color="grey", lw=0.8, ls=":")
        ax.set_ylabel(name, fontsize=8)
        ax.set_ylim(0.3, 50)
    axes[-1].set_xlabel("time (min); black: level over reference (yellow dashes: 2x); blue: "
                        "rise over the lowest sustained level, every axis (dashes: trend ratio);\n"
                        "band: state (grey = commissioning, green/yellow/orange/red = Normal/"
                        "Pre-Warning/Warning/Failure)")
    fig.tight_layout()
    fig.savefig(OUT / "femto_timelines.png", dpi=90)
    plt.close(fig)


def femto_lines(section: dict) -> list[str]:
    """The report lines of the femto section (section)."""
    f = section
    lines = ["## FEMTO (11 bearings; commissioning on each bearing's first 60 snapshots)", "",
             "Headline: leave-one-bearing-out (LOBO). The trend-rise ratio judging bearing k is "
             "the most sensitive ratio of a 1 dB grid with 0 first-half alarms and <= 1 % "
             "first-half not-Normal on the other 10 bearings. Shipped default "
             f"(HealthRules.trend_ratio): {f['trend_ratio_default']}; chosen on all 11: "
             f"{f['trend_ratio_chosen_on_all']}.", "",
             "| bearing | split | life min | LOBO trend ratio | 1st-half alarms | 1st-half "
             "not-Normal % | first alarm (fraction of life) | lead min | default: lead min |"
             " level rule only: lead min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r, d, lv in zip(f["lobo"], f["ours"], f["level_only"], strict=True):
        lines.append(f"| {r['bearing']} | {r['split']} | {r['life_min']:.0f} | "
                     f"{fmt(r['trend_ratio'])} | {r['first_half_alarms']} | "
                     f"{r['first_half_not_normal_pct']:.2f} | "
                     f"{fmt(r['alarm_fraction_of_life'])} | {fmt(r['lead_min'])} | "
                     f"{fmt(d['lead_min'])} | {fmt(lv['lead_min'])} |")
    lines += ["", "| rule | first-half alarms | max 1st-half not-Normal % | alarmed |"
              " median lead min |", "|---|---|---|---|---|"]
    lines.append(_femto_rule_row("physics, LOBO trend ratio (headline)", f["summary"]["lobo"], 11))
    lines.append(_femto_rule_row(f"physics, default trend ratio {f['trend_ratio_default']}",
                                 f["summary"]["ours"], 11))
    for part in ("learning", "test_full"):
        s = f["summary"][f"ours_{part}"]
        lines.append(_femto_rule_row(f"physics, default, {part} only", s, s["units"]))
    lines.append(_femto_rule_row("physics, level rule only (no trend rise)",
                                 f["summary"]["level_only"], 11))
    for z, s in f["summary"]["reference_rule"].items():
        lines.append(_femto_rule_row(f"horizontal RMS robust z > {z}, 3 in a row", s, 11))
    lines += ["", "Trend-ratio sweep (all 11 bearings, replayed; lead min per bearing):", "",
              "| trend ratio | first-half alarms | max 1st-half not-Normal % | median lead min |"
              " leads |", "|---|---|---|---|---|"]
    for ratio, rows in f["per_trend_ratio"].items():
        s = summarise(rows)
        lines.append(f"| {ratio} | {s['first_half_alarms']} | "
                     f"{s['max_first_half_not_normal_pct']:.2f} | {s['median_lead_min']:.1f} | "
                     + ", ".join(f"{fmt(r['lead_min'])}" for r in rows) + " |")
    lines.append("")
    return lines


def _femto_rule_row(rule: str, s: dict, units: int) -> str:
    """One row of the FEMTO rule table (ours, ours on one split, the reference rule)."""
    return (f"| {rule} | {s['first_half_alarms']} | {s['max_first_half_not_normal_pct']:.2f} | "
            f"{s['alarmed']}/{units} | {s['median_lead_min']:.1f} |")
