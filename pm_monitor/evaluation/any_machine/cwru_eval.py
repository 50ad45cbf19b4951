"""CWRU part of the any-machine evaluation: per load, commissioning on the normal record, then
detection, false windows on held-back normal data and fault type by physics."""
from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition import defects
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.datasets import cwru
from pm_monitor.evaluation.any_machine.common import ASSETS, fmt, log

CWRU_WINDOW_S, CWRU_HOP_S = 0.5, 0.25
TYPE_OF_LABEL = {"IR": "inner_race", "OR": "outer_race", "B0": "ball"}


def _windows(x: np.ndarray, rate: float):
    """(window, seconds of new samples) as the live path cuts them."""
    w, h = int(CWRU_WINDOW_S * rate), int(CWRU_HOP_S * rate)
    for st in range(0, x.shape[0] - w + 1, h):
        yield x[st:st + w], (CWRU_WINDOW_S if st == 0 else CWRU_HOP_S)


def cwru_section() -> dict:
    asset = load(ASSETS / "cwru_motor.yaml")
    records = cwru.list_records()
    by_load: dict[int, list[cwru.CwruRecord]] = {}
    for r in records:
        by_load.setdefault(r.load_hp, []).append(r)
    normals = {r.load_hp: r for r in records if r.label == "NORMAL"}
    results = {}
    for load_hp in sorted(by_load):
        ref_load = load_hp if load_hp in normals else min(normals, key=lambda k: abs(k - load_hp))
        log(f"CWRU load {load_hp} (commissioning on the normal record at {ref_load} hp)")
        mon = AssetMonitor(dataclasses.replace(asset, asset_id=f"cwru_{load_hp}hp"), ["DE"],
                           cwru.RATE_12K_HZ)
        normal = cwru.load_record(normals[ref_load]).samples
        half = normal.shape[0] // 2
        for w, new_s in _windows(normal[:half], cwru.RATE_12K_HZ):
            if not mon.commissioned:
                mon.process(w, new_s=new_s)
        if not mon.commissioned:
            mon.builder.finish()
        held = []
        if ref_load == load_hp:
            for w, _ in _windows(normal[half:], cwru.RATE_12K_HZ):
                mon.restart_states()
                held.append(mon.process(w).anomalous)
        per_record = []
        for rec in by_load[load_hp]:
            if rec.label == "NORMAL":
                continue
            x = cwru.load_record(rec).samples
            outs = []
            mon.restart_states()
            for w, _ in _windows(x, cwru.RATE_12K_HZ):
                a = mon.process(w)
                d = a.diagnosis
                outs.append((a.anomalous, d.fault_type if d else "none", d.bearing if d else ""))
            truth = TYPE_OF_LABEL[rec.label[:2]]
            calls = [t if b in ("", "drive_end") else f"{t}@{b}" for _, t, b in outs]
            majority = Counter(calls).most_common(1)[0][0]
            per_record.append({
                "record": rec.record, "label": rec.label, "truth": truth, "windows": len(outs),
                "detected": sum(o[0] for o in outs), "right": sum(c == truth for c in calls),
                "uncertain": sum(c == defects.UNCERTAIN for c in calls),
                "majority": majority})
        results[str(load_hp)] = {"reference_load_hp": ref_load,
                                 "held_out_normal_windows": len(held),
                                 "false_windows": int(sum(held)), "records": per_record}
    return results


def cwru_summary(results: dict) -> dict:
    out = {}
    total = Counter()
    for load_hp, r in results.items():
        recs = r["records"]
        n = sum(x["windows"] for x in recs)
        key = [x for x in recs if x["label"][:2] in ("IR", "OR") and x["label"][2:5] in
               ("007", "021")]
        s = {"detected_pct": 100.0 * sum(x["detected"] for x in recs) / n,
             "false_pct": (100.0 * r["false_windows"] / r["held_out_normal_windows"]
                           if r["held_out_normal_windows"] else None),
             "held_out_normal_windows": r["held_out_normal_windows"],
             "race_007_021_majority_right": sum(x["majority"] == x["truth"] for x in key),
             "race_007_021_records": len(key),
             "race_007_021_window_right_pct": 100.0 * sum(x["right"] for x in key)
             / sum(x["windows"] for x in key),
             "right_pct": 100.0 * sum(x["right"] for x in recs) / n,
             "uncertain_pct": 100.0 * sum(x["uncertain"] for x in recs) / n}
        s["confidently_wrong_pct"] = 100.0 - s["right_pct"] - s["uncertain_pct"]
        out[load_hp] = s
        for k in ("windows", "right", "uncertain"):
            total[k] += sum(x[k] for x in recs)
    out["all"] = {"right_pct": 100.0 * total["right"] / total["windows"],
                  "right_or_uncertain_pct": 100.0 * (total["right"] + total["uncertain"])
                  / total["windows"],
                  "confidently_wrong_pct": 100.0 * (total["windows"] - total["right"]
                                                    - total["uncertain"]) / total["windows"]}
    return out


def cwru_lines(section: dict) -> list[str]:
    """The report lines of the cwru section (section)."""
    lines: list[str] = []
    lines += ["## CWRU (drive end, 12 kHz, 0.5 s windows, hop 0.25 s)", "",
              "| load hp | reference load | detected % | false % (held-out normal windows) |"
              " IR/OR 007+021 majority right | their windows right % | right % |"
              " uncertain % | confidently wrong % |", "|---|---|---|---|---|---|---|---|---|"]
    for load_hp, s in section["summary"].items():
        if load_hp == "all":
            continue
        ref = section["results"][load_hp]["reference_load_hp"]
        lines.append(f"| {load_hp} | {ref} | {s['detected_pct']:.1f} | {fmt(s['false_pct'])}"
                     f" ({s['held_out_normal_windows']}) | {s['race_007_021_majority_right']}"
                     f"/{s['race_007_021_records']} | {s['race_007_021_window_right_pct']:.1f}"
                     f" | {s['right_pct']:.1f} | {s['uncertain_pct']:.1f} | "
                     f"{s['confidently_wrong_pct']:.1f} |")
    a = section["summary"]["all"]
    lines += ["", f"All loads: right {a['right_pct']:.1f} %, right or uncertain-but-bearing "
              f"{a['right_or_uncertain_pct']:.1f} %, confidently wrong "
              f"{a['confidently_wrong_pct']:.1f} %.", "",
              "| load | record | label | windows | detected | right | uncertain | majority |",
              "|---|---|---|---|---|---|---|---|"]
    for load_hp, r in section["results"].items():
        for x in r["records"]:
            lines.append(f"| {load_hp} | {x['record']} | {x['label']} | {x['windows']} | "
                         f"{x['detected']} | {x['right']} | {x['uncertain']} | "
                         f"{x['majority']} |")
    lines.append("")
    return lines
