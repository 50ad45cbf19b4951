"""FEMTO part of the any-machine evaluation: 11 run-to-failure bearings, each commissioned on
its own first 10 minutes, first-half alarms and lead time beside the issue's RMS rule."""
from __future__ import annotations

import dataclasses

import numpy as np

from pm_monitor.core.assets.description import AssetDescription, ShaftSpeed, load
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import femto
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, fmt, log

FEMTO_COMMISSION_S = 6.0  # 60 snapshots of 0.1 s: the first 10 min (20 min when thinned k=2)


def femto_asset(bearing: femto.FemtoBearing) -> AssetDescription:
    base = load(ASSETS / "femto_bearing.yaml")
    return dataclasses.replace(base, asset_id=f"femto_{bearing.name}",
                               shaft_speed=ShaftSpeed("fixed", float(bearing.rpm), 0.0, ""),
                               commissioning_s=FEMTO_COMMISSION_S)


def femto_run(bearing: femto.FemtoBearing) -> dict:
    cache = OUT / "cache" / f"femto_{bearing.name}.npz"
    if cache.is_file():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    mon = AssetMonitor(femto_asset(bearing), ["horizontal", "vertical"], bearing.fs)
    acc = bearing.acc_g
    states, his, anomalies, rms_h = [], [], [], []
    for i in range(acc.shape[0]):
        a = mon.process(acc[i])
        states.append(int(a.state) if not a.commissioning else -1)
        his.append(a.health_indicator)
        anomalies.append(a.anomaly)
        rms_h.append(float(np.sqrt(np.mean((acc[i, :, 0] - acc[i, :, 0].mean()) ** 2))))
    out = {"t_s": bearing.t_s, "state": np.array(states), "hi": np.array(his),
           "anomaly": np.array(anomalies), "rms_h": np.array(rms_h)}
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


def reference_rule(t: np.ndarray, rms_h: np.ndarray, z_threshold: float) -> np.ndarray:
    """Issue 18's comparison: horizontal RMS robust z vs the first 10 min, 3 in a row."""
    base = rms_h[t < 600.0]
    med = np.median(base)
    mad = 1.4826 * np.median(np.abs(base - med))
    z = (rms_h - med) / max(mad, 1e-12)
    run = np.convolve((z > z_threshold).astype(float), np.ones(3), "full")[: z.size] >= 3
    return np.maximum.accumulate(run)


def femto_section() -> dict:
    rows, rule_rows, timelines = [], {5.0: [], 10.0: [], 20.0: [], 40.0: []}, {}
    for name in femto.ALL_BEARINGS:
        log(f"FEMTO {name}")
        b = femto.load_bearing(name)
        r = femto_run(b)
        alarm = r["state"] >= int(HealthState.PRE_WARNING)
        rows.append({"bearing": name, "split": b.split, "life_min": float(r["t_s"][-1] / 60),
                     **first_alarm(r["t_s"], alarm)})
        for z, lst in rule_rows.items():
            lst.append({"bearing": name, **first_alarm(r["t_s"],
                                                       reference_rule(r["t_s"], r["rms_h"], z))})
        timelines[name] = r
    _femto_plot(timelines)
    return {"ours": rows, "reference_rule": {str(k): v for k, v in rule_rows.items()}}


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
        for s, c in colours.items():
            m = r["state"] == s
            ax.scatter(t[m], np.full(m.sum(), 0.5), c=c, s=4, marker="s")
        ax.axhline(2.0, color="gold", lw=0.8, ls="--")
        ax.axvline(t[-1] / 2, color="grey", lw=0.8, ls=":")
        ax.set_ylabel(name, fontsize=8)
        ax.set_ylim(0.3, 50)
    axes[-1].set_xlabel("time (min); black: level over reference; band: state (grey = "
                        "commissioning, green/yellow/orange/red = Normal/Pre-Warning/Warning/"
                        "Failure)")
    fig.tight_layout()
    fig.savefig(OUT / "femto_timelines.png", dpi=90)
    plt.close(fig)


def femto_lines(section: dict) -> list[str]:
    """The report lines of the femto section (section)."""
    lines: list[str] = []
    f = section
    lines += ["## FEMTO (11 bearings; commissioning on each bearing's first 60 snapshots)",
              "", "| bearing | split | life min | 1st-half alarms | 1st-half not-Normal % |"
              " first alarm (fraction of life) | lead min |", "|---|---|---|---|---|---|---|"]
    for r in f["ours"]:
        lines.append(f"| {r['bearing']} | {r['split']} | {r['life_min']:.0f} | "
                     f"{r['first_half_alarms']} | {r['first_half_not_normal_pct']:.2f} | "
                     f"{fmt(r['alarm_fraction_of_life'])} | {fmt(r['lead_min'])} |")
    lines += ["", "| rule | first-half alarms | max 1st-half not-Normal % | alarmed |"
              " median lead min |", "|---|---|---|---|---|"]
    lines.append(_femto_rule_row("physics (ours), all 11", f["summary"]["ours"], 11))
    for part in ("learning", "test_full"):
        s = f["summary"][f"ours_{part}"]
        lines.append(_femto_rule_row(f"physics (ours), {part} only", s, s["units"]))
    for z, s in f["summary"]["reference_rule"].items():
        lines.append(_femto_rule_row(f"horizontal RMS robust z > {z}, 3 in a row", s, 11))
    lines.append("")
    return lines


def _femto_rule_row(rule: str, s: dict, units: int) -> str:
    """One row of the FEMTO rule table (ours, ours on one split, the reference rule)."""
    return (f"| {rule} | {s['first_half_alarms']} | {s['max_first_half_not_normal_pct']:.2f} | "
            f"{s['alarmed']}/{units} | {s['median_lead_min']:.1f} |")
