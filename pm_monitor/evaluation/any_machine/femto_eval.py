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
`femto_run(bearing, decimate_by=q)` plays the bearing's snapshots decimated by q
(common.decimated, anti-aliased, snapshot by snapshot): a 25.6/q kHz sensor (low_rate.py).
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
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, decimated, fmt, log

FEMTO_COMMISSION_S = 6.0  # 60 snapshots of 0.1 s: the first 10 min (20 min when thinned k=2)
CACHE_VERSION = 5  # bump when the features or the cached fields change
INF = float("inf")  # a rise rule switched off
# trend-rise ratios tried, in 1 dB steps: level rise +2..+12 dB, crest rise +6..+18 dB, or off
LEVEL_GRID = (*(round(10 ** (db / 20.0), 3) for db in range(2, 13)), INF)
CREST_GRID = (*(round(10 ** (db / 20.0), 3) for db in range(6, 19)), INF)
MAX_FIRST_HALF_NOT_NORMAL_PCT = 1.0


def femto_asset(bearing: femto.FemtoBearing) -> AssetDescription:
    base = load(ASSETS / "femto_bearing.yaml")
    return dataclasses.replace(base, asset_id=f"femto_{bearing.name}",
                               shaft_speed=ShaftSpeed("fixed", float(bearing.rpm), 0.0, ""),
                               commissioning_s=FEMTO_COMMISSION_S)


def femto_run(bearing: femto.FemtoBearing, decimate_by: int = 1) -> dict:
    """The bearing through `AssetMonitor.process`, snapshot by snapshot (cached), its
    snapshots decimated by `decimate_by` (1: as recorded)."""
    rate = f"_d{decimate_by}" if decimate_by > 1 else ""
    cache = OUT / "cache" / f"femto_{bearing.name}_v{CACHE_VERSION}{rate}.npz"
    if cache.is_file():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    mon = AssetMonitor(femto_asset(bearing), ["horizontal", "vertical"],
                       bearing.fs / decimate_by)
    acc = decimated(bearing.acc_g, decimate_by, axis=1)
    states, his, anomalies, rms_h, levels, impulsive, zones, named, rises, crest = (
        [] for _ in range(10))
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
        crest.append(a.axis_crest if a.axis_crest.size else np.full(2, np.nan))
    out = {"t_s": bearing.t_s, "state": np.array(states), "hi": np.array(his),
           "anomaly": np.array(anomalies), "rms_h": np.array(rms_h), "levels": np.array(levels),
           "impulsive": np.array(impulsive), "zone": np.array(zones), "named": np.array(named),
           "rise": np.array(rises), "crest": np.array(crest)}
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


def replay_states(r: dict, rules: HealthRules, bearing_rules: bool = True) -> np.ndarray:
    """The live run's state sequence under other rules: `HealthStateMachine` on the cached
    per-window inputs (-1 while commissioning). `bearing_rules`: as the live monitor at the
    run's rate (False below monitor.BEARING_RULES_MIN_RATE_HZ)."""
    machine, out = HealthStateMachine(rules), []
    for i in range(r["state"].size):
        commissioning = bool(r["state"][i] < 0)
        hi = None if commissioning else float(r["hi"][i])
        levels = None if commissioning else r["levels"][i]
        crest = None if commissioning else r["crest"][i]
        state = machine.update(hi, bool(r["impulsive"][i]), bool(r["named"][i]),
                               IsoZone(int(r["zone"][i])), levels, crest,
                               anomalous=bool(np.nan_to_num(r["anomaly"][i]) > 1.0),
                               bearing_rules=bearing_rules)
        out.append(-1 if commissioning else int(state))
    return np.array(out)


def _acceptable(rows: list[dict]) -> bool:
    return all(r["first_half_alarms"] == 0
               and r["first_half_not_normal_pct"] <= MAX_FIRST_HALF_NOT_NORMAL_PCT for r in rows)


Pair = tuple[float, float]  # (trend_ratio, crest_trend_ratio)


def _median_lead(rows: list[dict]) -> float:
    return float(np.median([r["lead_min"] or 0.0 for r in rows]))


def choose_pair(results: dict[str, dict[Pair, dict]], names: list[str],
                pairs: list[Pair]) -> Pair | None:
    """Among `pairs` with 0 first-half alarms and <= 1 % first-half not-Normal on the bearings
    `names`, the one with the longest median lead on them; ties: the less sensitive pair."""
    ok = [p for p in pairs if _acceptable([results[n][p] for n in names])]
    if not ok:
        return None
    best = max(_median_lead([results[n][p] for n in names]) for p in ok)
    return max(p for p in ok if _median_lead([results[n][p] for n in names]) == best)


def choose_most_sensitive(results: dict[str, dict[Pair, dict]], names: list[str],
                          pairs: list[Pair]) -> Pair | None:
    """The most sensitive of `pairs` (one rule's ratios, ascending) acceptable on `names`."""
    return next((p for p in pairs if _acceptable([results[n][p] for n in names])), None)


PAIRS: list[Pair] = [(a, b) for a in LEVEL_GRID for b in CREST_GRID]


def pair_rules(pair: Pair) -> HealthRules:
    return dataclasses.replace(HealthRules(), trend_ratio=pair[0], crest_trend_ratio=pair[1])


def pair_results(runs: dict[str, dict]) -> dict[str, dict[Pair, dict]]:
    """Every bearing's first alarm under every grid pair (the state machine replayed); what
    `choose_pair` picks from (also used by the RUL onset, pm_monitor/evaluation/rul_evaluate)."""
    return {name: {p: first_alarm(r["t_s"], replay_states(r, pair_rules(p))
                                  >= int(HealthState.PRE_WARNING)) for p in PAIRS}
            for name, r in runs.items()}


def lobo_rows(runs: dict[str, dict], splits: dict[str, str]) -> dict:
    """Leave-one-bearing-out rows for the joint choice (headline) and each rise rule alone,
    the pairs chosen on all bearings, and every bearing's result per pair."""
    pairs = PAIRS
    results = pair_results(runs)
    protocols = {"joint": lambda ns: choose_pair(results, ns, pairs),
                 "level_rise_only": lambda ns: choose_most_sensitive(
                     results, ns, [(a, INF) for a in LEVEL_GRID]),
                 "crest_rise_only": lambda ns: choose_most_sensitive(
                     results, ns, [(INF, b) for b in CREST_GRID])}
    out: dict = {"chosen_on_all": {}, "rows": {}}
    for key, choose in protocols.items():
        rows = []
        for name, r in runs.items():
            pair = choose([n for n in runs if n != name])
            if pair is None:
                raise RuntimeError(f"{key}: no grid pair is acceptable without {name}")
            rows.append({"bearing": name, "split": splits[name],
                         "life_min": float(r["t_s"][-1] / 60), "trend_ratio": pair[0],
                         "crest_trend_ratio": pair[1], **results[name][pair]})
        out["rows"][key] = rows
        out["chosen_on_all"][key] = choose(list(runs))
    default = HealthRules()
    out["sweep_level"] = {str(a): [{"bearing": n, **results[n][(a, default.crest_trend_ratio)]}
                                   for n in runs] for a in LEVEL_GRID}
    out["sweep_crest"] = {str(b): [{"bearing": n, **results[n][(default.trend_ratio, b)]}
                                   for n in runs] for b in CREST_GRID}
    return out


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
    no_trend = dataclasses.replace(HealthRules(), trend_ratio=INF, crest_trend_ratio=INF)
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
    lobo = lobo_rows(timelines, splits)
    _femto_plot(timelines)
    return {"lobo": lobo["rows"]["joint"], "lobo_level_rise_only": lobo["rows"]["level_rise_only"],
            "lobo_crest_rise_only": lobo["rows"]["crest_rise_only"], "ours": rows,
            "level_only": level_only,
            "default_pair": [HealthRules().trend_ratio, HealthRules().crest_trend_ratio],
            "chosen_on_all": lobo["chosen_on_all"], "sweep_level": lobo["sweep_level"],
            "sweep_crest": lobo["sweep_crest"],
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
    chosen = f["chosen_on_all"]
    lines = ["## FEMTO (11 bearings; commissioning on each bearing's first 60 snapshots)", "",
             "Headline: leave-one-bearing-out (LOBO). Bearing k is judged with the (level rise, "
             "crest rise) ratio pair chosen on the other 10 bearings from a 1 dB grid: among the "
             "pairs with 0 first-half alarms and <= 1 % first-half not-Normal windows on those "
             "10, the longest median lead on them (ties: the less sensitive pair). Shipped "
             f"default (HealthRules): {tuple(f['default_pair'])}; chosen on all 11: "
             f"{tuple(chosen['joint'])}. 'inf' = that rise rule off.", "",
             "| bearing | split | life min | LOBO pair | 1st-half alarms | 1st-half not-Normal % "
             "| first alarm (fraction of life) | lead min | default: lead min | level rule only "
             "(no rises): lead min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r, d, lv in zip(f["lobo"], f["ours"], f["level_only"], strict=True):
        lines.append(f"| {r['bearing']} | {r['split']} | {r['life_min']:.0f} | "
                     f"{r['trend_ratio']}, {r['crest_trend_ratio']} | {r['first_half_alarms']} | "
                     f"{r['first_half_not_normal_pct']:.2f} | "
                     f"{fmt(r['alarm_fraction_of_life'])} | {fmt(r['lead_min'])} | "
                     f"{fmt(d['lead_min'])} | {fmt(lv['lead_min'])} |")
    lines += ["", "| rule | first-half alarms | max 1st-half not-Normal % | alarmed |"
              " median lead min |", "|---|---|---|---|---|"]
    summary = f["summary"]
    lines.append(_femto_rule_row("physics, LOBO pair (headline)", summary["lobo"], 11))
    lines.append(_femto_rule_row("physics, LOBO level rise only (most sensitive on the 10)",
                                 summary["lobo_level_rise_only"], 11))
    lines.append(_femto_rule_row("physics, LOBO crest rise only (most sensitive on the 10)",
                                 summary["lobo_crest_rise_only"], 11))
    lines.append(_femto_rule_row(f"physics, default pair {tuple(f['default_pair'])} (chosen on "
                                 "all 11)", summary["ours"], 11))
    for part in ("learning", "test_full"):
        s = summary[f"ours_{part}"]
        lines.append(_femto_rule_row(f"physics, default, {part} only", s, s["units"]))
    lines.append(_femto_rule_row("physics, level rule only (no rises)", summary["level_only"], 11))
    for z, s in summary["reference_rule"].items():
        lines.append(_femto_rule_row(f"horizontal RMS robust z > {z}, 3 in a row", s, 11))
    for key, title in (("sweep_level", "level-rise ratio (crest rise at its default)"),
                       ("sweep_crest", "crest-rise ratio (level rise at its default)")):
        lines += ["", f"Sweep of the {title}, all 11 bearings replayed; lead min per bearing:",
                  "", "| ratio | first-half alarms | max 1st-half not-Normal % | median lead min |"
                  " leads |", "|---|---|---|---|---|"]
        for ratio, rows in f[key].items():
            s = summarise(rows)
            lines.append(f"| {ratio} | {s['first_half_alarms']} | "
                         f"{s['max_first_half_not_normal_pct']:.2f} | "
                         f"{s['median_lead_min']:.1f} | "
                         + ", ".join(f"{fmt(r['lead_min'])}" for r in rows) + " |")
    lines.append("")
    return lines


def _femto_rule_row(rule: str, s: dict, units: int) -> str:
    """One row of the FEMTO rule table (ours, ours on one split, the reference rule)."""
    return (f"| {rule} | {s['first_half_alarms']} | {s['max_first_half_not_normal_pct']:.2f} | "
            f"{s['alarmed']}/{units} | {s['median_lead_min']:.1f} |")
