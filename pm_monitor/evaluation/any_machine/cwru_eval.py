"""CWRU part of the any-machine evaluation: per load, commissioning on the normal record, then
detection, false windows on held-out normal data and fault type by physics.

Commissioning uses all the normal data available outside what is scored (CWRU has 5-10 s of
normal data per load; the asset file's `commissioning_s` is the floor): its normal records hold
intermittent impulsive stretches (1 hp: 3.3-3.9 s) that a 2.5 s commissioning on a quiet stretch
never sees.

Held-out protocol for false windows (k-fold over contiguous blocks): the load's normal record is
cut into k contiguous blocks of at least `commissioning_s` (k = 2 at 0 hp, 5 s record; k = 4 at 1
and 3 hp, 10 s records). For each block, a fresh monitor commissions on all the other blocks (in
time order from the next block on; no window straddles two blocks), then every window inside the
held-out block is scored. Every normal window is held out once and never overlaps the data its
monitor commissioned on. Held-out windows are scored at every `HELD_OUT_HOP_S` (window
positions: heavily overlapping, so the count of independent 0.5 s windows is reported beside
it). Fault records (other recordings) are judged at the live hop by a monitor commissioned on
the whole normal record of the load. 2 hp has no normal record: its faults are judged against
the 1 hp commissioning and it has no false-window figure; what a reference one load step away
says of healthy data is shown instead (`cross_load`: the 1 hp reference on the 0 and 3 hp
normal records).

`cwru_section(decimate_by=q)` runs the same protocol on every record decimated by q
(common.decimated, anti-aliased): the 12 kHz set as a 12/q kHz sensor (the low-rate
evaluation, low_rate.py).
"""
from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from pathlib import Path

import numpy as np

from pm_monitor.core.assets.description import AssetDescription, load
from pm_monitor.core.condition import defects
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import cwru
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, decimated, fmt, log

CWRU_WINDOW_S, CWRU_HOP_S = 0.5, 0.25
HELD_OUT_HOP_S = 0.025  # window positions scored in a held-out block (30 samples ... 300)
TYPE_OF_LABEL = {"IR": "inner_race", "OR": "outer_race", "B0": "ball"}
TRUTHS = ("inner_race", "outer_race", "ball")
# Confusion-matrix columns: a named type on the drive end, a type on another bearing, uncertain.
CALLS = ("inner_race", "outer_race", "ball", "cage", "other bearing", defects.UNCERTAIN)


def _windows(x: np.ndarray, rate: float, hop_s: float = CWRU_HOP_S):
    """(window, seconds of new samples) as the live path cuts them."""
    w, h = int(CWRU_WINDOW_S * rate), round(hop_s * rate)
    for st in range(0, x.shape[0] - w + 1, h):
        yield x[st:st + w], (CWRU_WINDOW_S if st == 0 else hop_s)


def _commissioned(asset: AssetDescription, asset_id: str, pieces: list[np.ndarray],
                  rate: float = cwru.RATE_12K_HZ) -> AssetMonitor:
    """A monitor commissioned on all of `pieces` (contiguous stretches, in order; no window
    straddles two pieces), at least the asset's commissioning duration."""
    seconds = max(sum(p.shape[0] for p in pieces) / rate, asset.commissioning_s)
    mon = AssetMonitor(dataclasses.replace(asset, asset_id=asset_id, commissioning_s=seconds),
                       ["DE"], rate)
    for piece in pieces:
        for w, new_s in _windows(piece, rate):
            if not mon.commissioned:
                mon.process(w, new_s=new_s)
    if not mon.commissioned:  # the windows' new seconds fall short of the samples by < 0.25 s
        mon.builder.finish()
    return mon


def held_out_normal(asset: AssetDescription, normal: np.ndarray, load_hp: int,
                    rate: float = cwru.RATE_12K_HZ) -> dict:
    """k-fold over contiguous blocks of the normal record (module docstring)."""
    n = normal.shape[0]
    k = max(2, int(n // (asset.commissioning_s * rate)))
    edges = np.linspace(0, n, k + 1).astype(int)
    blocks = [normal[a:b] for a, b in itertools.pairwise(edges)]
    folds = []
    for f in range(k):
        others = [blocks[(f + j) % k] for j in range(1, k)]
        mon = _commissioned(asset, f"cwru_{load_hp}hp_fold{f}", others, rate)
        flags = []
        for w, _ in _windows(blocks[f], rate, HELD_OUT_HOP_S):
            mon.restart_states()
            flags.append(mon.process(w).anomalous)
        folds.append({"block_s": [edges[f] / rate, edges[f + 1] / rate],
                      "windows": len(flags), "false": int(sum(flags)),
                      "independent_windows": int(blocks[f].shape[0] // (CWRU_WINDOW_S * rate))})
    return {"k": k, "folds": folds, "windows": sum(f["windows"] for f in folds),
            "false": sum(f["false"] for f in folds),
            "independent_windows": sum(f["independent_windows"] for f in folds)}


def cross_load(mon: AssetMonitor, normals: dict[int, np.ndarray]) -> dict[str, dict]:
    """Windows of other loads' normal records that `mon` (commissioned at another load) calls
    anomalous: how much of a detection at a load without its own reference is the load change."""
    out = {}
    for load_hp, x in normals.items():
        flags = []
        for w, _ in _windows(x, mon.rate_hz, HELD_OUT_HOP_S):
            mon.restart_states()
            flags.append(mon.process(w).anomalous)
        out[str(load_hp)] = {"windows": len(flags), "anomalous": int(sum(flags))}
    return out


def _call(fault_type: str, bearing: str) -> str:
    if fault_type in ("none", defects.UNCERTAIN):
        return fault_type
    return fault_type if bearing in ("", "drive_end") else "other bearing"


def _window_call(a) -> str:
    """The fault type a window's Assessment gives, as the physics stage names it: a deviating
    window without a diagnosis (the rate cannot carry the envelope) is uncertain."""
    d = a.diagnosis
    if d is None:
        return defects.UNCERTAIN if a.anomalous else "none"
    return _call(d.fault_type, d.bearing)


def _wrong(calls: dict[str, int], truth: str) -> int:
    """Windows with a named fault type other than the truth (confidently wrong)."""
    return sum(n for call, n in calls.items()
               if call not in ("none", defects.UNCERTAIN, truth))


def cwru_section(decimate_by: int = 1) -> dict:
    """Every load's detection, fault type and held-out false windows; records decimated by
    `decimate_by` (1: the 12 kHz set as recorded)."""
    asset = load(ASSETS / "cwru_motor.yaml")
    rate = cwru.RATE_12K_HZ / decimate_by

    def samples(record: cwru.CwruRecord) -> np.ndarray:
        return decimated(cwru.load_record(record).samples, decimate_by)

    records = cwru.list_records()
    by_load: dict[int, list[cwru.CwruRecord]] = {}
    for r in records:
        by_load.setdefault(r.load_hp, []).append(r)
    normals = {r.load_hp: r for r in records if r.label == "NORMAL"}
    results = {}
    for load_hp in sorted(by_load):
        ref_load = load_hp if load_hp in normals else min(normals, key=lambda k: abs(k - load_hp))
        log(f"CWRU load {load_hp} at {rate:g} Hz (commissioning on the normal record at "
            f"{ref_load} hp)")
        normal = samples(normals[ref_load])
        held = held_out_normal(asset, normal, load_hp, rate) if ref_load == load_hp else None
        mon = _commissioned(asset, f"cwru_{load_hp}hp", [normal], rate)
        cross = None if held else cross_load(mon, {
            k: samples(r) for k, r in normals.items() if k != ref_load})
        per_record = []
        for rec in by_load[load_hp]:
            if rec.label == "NORMAL":
                continue
            x = samples(rec)
            outs = []
            mon.restart_states()
            for w, new_s in _windows(x, rate):
                a = mon.process(w, new_s=new_s)
                outs.append((a.anomalous, _window_call(a), a.state != HealthState.NORMAL))
            truth = TYPE_OF_LABEL[rec.label[:2]]
            calls = [o[1] for o in outs]
            per_record.append({
                "record": rec.record, "label": rec.label, "truth": truth, "windows": len(outs),
                "detected": sum(o[0] for o in outs), "alarmed": sum(o[2] for o in outs),
                "right": sum(c == truth for c in calls),
                "uncertain": sum(c == defects.UNCERTAIN for c in calls),
                "majority": Counter(calls).most_common(1)[0][0], "calls": dict(Counter(calls))})
        results[str(load_hp)] = {"reference_load_hp": ref_load, "held_out_normal": held,
                                 "cross_load": cross, "records": per_record}
    return results


def confusion(records: list[dict]) -> np.ndarray:
    """Windows per (truth in TRUTHS) x (call in CALLS); "none" (a window nothing was diagnosed
    on: not detected) has no column."""
    m = np.zeros((len(TRUTHS), len(CALLS)), dtype=int)
    for r in records:
        for call, count in r["calls"].items():
            if call in CALLS:
                m[TRUTHS.index(r["truth"]), CALLS.index(call)] += count
    return m


def cwru_summary(results: dict) -> dict:
    out = {}
    total = Counter()
    for load_hp, r in results.items():
        recs = r["records"]
        n = sum(x["windows"] for x in recs)
        key = [x for x in recs if x["label"][:2] in ("IR", "OR") and x["label"][2:5] in
               ("007", "021")]
        held = r["held_out_normal"]
        s = {"detected_pct": 100.0 * sum(x["detected"] for x in recs) / n,
             "alarmed_pct": 100.0 * sum(x["alarmed"] for x in recs) / n,
             "records_alarmed": sum(x["alarmed"] > 0 for x in recs), "records": len(recs),
             "false_pct": 100.0 * held["false"] / held["windows"] if held else None,
             "held_out_normal_windows": held["windows"] if held else 0,
             "held_out_false_windows": held["false"] if held else None,
             "held_out_independent_windows": held["independent_windows"] if held else 0,
             "held_out_folds": held["k"] if held else 0,
             "race_007_021_majority_right": sum(x["majority"] == x["truth"] for x in key),
             "race_007_021_records": len(key),
             "race_007_021_window_right_pct": 100.0 * sum(x["right"] for x in key)
             / sum(x["windows"] for x in key),
             "right_pct": 100.0 * sum(x["right"] for x in recs) / n,
             "uncertain_pct": 100.0 * sum(x["uncertain"] for x in recs) / n,
             "confusion": confusion(recs).tolist()}
        s["confidently_wrong_pct"] = 100.0 * sum(_wrong(x["calls"], x["truth"])
                                                 for x in recs) / n
        out[load_hp] = s
        for k in ("windows", "right", "uncertain"):
            total[k] += sum(x[k] for x in recs)
        total["wrong"] += sum(_wrong(x["calls"], x["truth"]) for x in recs)
    out["all"] = {"right_pct": 100.0 * total["right"] / total["windows"],
                  "right_or_uncertain_pct": 100.0 * (total["right"] + total["uncertain"])
                  / total["windows"],
                  "confidently_wrong_pct": 100.0 * total["wrong"] / total["windows"]}
    return out


def plot_types(summary: dict, path: Path = OUT / "cwru_types.png") -> Path:
    """Confusion matrix (truth x call, windows) per load."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loads = [k for k in summary if k != "all"]
    fig, axes = plt.subplots(1, len(loads), figsize=(4.2 * len(loads), 3.6), squeeze=False)
    labels = ["inner", "outer", "ball", "cage", "other\nbearing", "uncertain"]
    for ax, load_hp in zip(axes[0], loads, strict=True):
        m = np.asarray(summary[load_hp]["confusion"])
        ax.imshow(m, cmap="Blues", vmin=0)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, str(v), ha="center", va="center",
                    color="white" if v > 0.6 * m.max() else "black", fontsize=9)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_yticks(range(len(TRUTHS)), ["inner", "outer", "ball"])
        ax.set_title(f"{load_hp} hp (windows)")
        ax.set_xlabel("call")
    axes[0][0].set_ylabel("truth")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cwru_lines(section: dict) -> list[str]:
    """The report lines of the cwru section (section)."""
    lines: list[str] = []
    lines += ["## CWRU (drive end, 12 kHz, 0.5 s windows, hop 0.25 s)", "",
              "False windows: k-fold over contiguous blocks of the load's normal record (each "
              "block held out once, its monitor commissioned on the other blocks), held-out "
              f"windows scored every {HELD_OUT_HOP_S} s; independent = non-overlapping 0.5 s "
              "windows in the held-out blocks. Fault type: constants chosen on load 0 (and "
              "FEMTO), loads 1-3 held out. Confusion matrices: cwru_types.png. Detected = "
              "the window deviates from the reference (anomaly model, reported on every "
              "window); alarmed = the health state is not Normal (what raises an alert: a "
              "bare deviation is advisory). A record's first 2 windows cannot be alarmed "
              "(3-window confirmation after each record's restart).", "",
              "| load hp | reference load | detected % | alarmed % (records) | false % "
              "(false / held-out windows, "
              "k folds, independent) | IR/OR 007+021 majority right | their windows right % |"
              " right % | uncertain % | confidently wrong % |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for load_hp, s in section["summary"].items():
        if load_hp == "all":
            continue
        ref = section["results"][load_hp]["reference_load_hp"]
        held = (f"{fmt(s['false_pct'])} ({s['held_out_false_windows']}/"
                f"{s['held_out_normal_windows']}, k={s['held_out_folds']}, "
                f"{s['held_out_independent_windows']})" if s["held_out_folds"] else "- (none)")
        lines.append(f"| {load_hp} | {ref} | {s['detected_pct']:.1f} | {s['alarmed_pct']:.1f}"
                     f" ({s['records_alarmed']}/{s['records']}) | {held} | "
                     f"{s['race_007_021_majority_right']}/{s['race_007_021_records']} | "
                     f"{s['race_007_021_window_right_pct']:.1f} | {s['right_pct']:.1f} | "
                     f"{s['uncertain_pct']:.1f} | {s['confidently_wrong_pct']:.1f} |")
    for load_hp, r in section["results"].items():
        if r.get("cross_load"):
            seen = ", ".join(f"{c['anomalous']}/{c['windows']} at {k} hp"
                             for k, c in r["cross_load"].items())
            lines += ["", f"{load_hp} hp has no normal record: judged against the "
                      f"{r['reference_load_hp']} hp reference, which calls anomalous {seen} of "
                      "the other loads' normal windows: a reference holds for its load, so "
                      f"{load_hp} hp detection is not evidence of a low false-window rate."]
    a = section["summary"]["all"]
    lines += ["", f"All loads: right {a['right_pct']:.1f} %, right or uncertain-but-bearing "
              f"{a['right_or_uncertain_pct']:.1f} %, confidently wrong "
              f"{a['confidently_wrong_pct']:.1f} %.", "",
              "| load | record | label | windows | detected | alarmed | right | uncertain |"
              " majority |", "|---|---|---|---|---|---|---|---|---|"]
    for load_hp, r in section["results"].items():
        for x in r["records"]:
            lines.append(f"| {load_hp} | {x['record']} | {x['label']} | {x['windows']} | "
                         f"{x['detected']} | {x['alarmed']} | {x['right']} | "
                         f"{x['uncertain']} | "
                         f"{x['majority']} |")
    lines.append("")
    return lines
