"""Low-rate accelerometers: the any-machine evaluation's CWRU and FEMTO parts on the same
recordings decimated to MEMS rates (ADXL345 3.2 kHz, ADXL355 4 kHz, wireless nodes 2.5-6.4 kHz),
beside the full rate of the same run.

`python -m pm_monitor.evaluation.any_machine.low_rate` writes results/any_machine/low_rate.md,
low_rate.json and low_rate.png. Decimation is anti-aliased (common.decimated: what a sensor's
own filter does); every rate runs the existing protocols unchanged (cwru_eval.cwru_section,
femto_eval.femto_run) with the shipped rules and thresholds: nothing is chosen on what is
reported here at any rate.

- CWRU (12 kHz drive end) at 12, 4 and 3 kHz: held-out false windows on the normal records
  (k-fold over contiguous blocks), detection and alarm rates on the fault records, fault type
  (right / uncertain / confidently wrong). Where the rate is below what the envelope's
  demodulation band needs, the fault type is "uncertain" by construction.
- FEMTO (25.6 kHz) at 25.6, 5.12, 4.27, 3.2 and 2.56 kHz: first-half alarms (false onsets),
  first-half not-Normal windows and the first alarm's fraction of life per bearing: the live
  path with the shipped rise ratios, the same with each bearing's leave-one-bearing-out ratio
  pair (chosen at 25.6 kHz on the other 10 bearings, femto_eval.lobo_rows), and, below
  monitor.BEARING_RULES_MIN_RATE_HZ, what the bearing-damage rules would have done had they
  been left on (the state machine replayed on the same windows): the evidence for switching
  them off there. The shipped ratios were chosen on these 11 bearings at 25.6 kHz, so the
  shipped-ratio rows are not held out; the LOBO rows are.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.features import MIN_RATE_HZ
from pm_monitor.core.condition.health import HealthRules
from pm_monitor.core.condition.monitor import BEARING_RULES_MIN_RATE_HZ, AssetMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import cwru, femto
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, fmt, log
from pm_monitor.evaluation.any_machine.cwru_eval import cwru_section, cwru_summary
from pm_monitor.evaluation.any_machine.femto_eval import (
    femto_asset,
    femto_run,
    first_alarm,
    lobo_rows,
    pair_rules,
    replay_states,
    summarise,
)

CWRU_FACTORS = (1, 2, 3, 4)  # 12, 6, 4, 3 kHz
FEMTO_FACTORS = (1, 5, 6, 8, 10)  # 25.6, 5.12, 4.27, 3.2, 2.56 kHz
RULES = ("live", "lobo", "rules_forced_on")
COMMAND = "nice -n 10 python -m pm_monitor.evaluation.any_machine.low_rate"


def cwru_rates(factors: tuple[int, ...] = CWRU_FACTORS) -> dict:
    """Per rate (Hz, as a string): what the asset cannot analyse there, the summary per load."""
    asset = load(ASSETS / "cwru_motor.yaml")
    out = {}
    for q in factors:
        rate = cwru.RATE_12K_HZ / q
        res = cwru_section(q)
        out[f"{rate:g}"] = {"decimate_by": q, "results": res, "summary": cwru_summary(res),
                            "not_analysed": list(AssetMonitor(asset, ["DE"], rate).unavailable)}
    return out


def _alarm_rows(runs: dict[str, dict], states: dict[str, np.ndarray],
                splits: dict[str, str]) -> list[dict]:
    """Per bearing the first alarm of its state sequence."""
    rows = []
    for name, r in runs.items():
        rows.append({"bearing": name, "split": splits[name],
                     "life_min": float(r["t_s"][-1] / 60),
                     **first_alarm(r["t_s"], states[name] >= int(HealthState.PRE_WARNING))})
    return rows


def femto_rates(factors: tuple[int, ...] = FEMTO_FACTORS) -> dict:
    """Per rate: shipped-ratio and LOBO-pair rows per bearing, their summaries."""
    bearings = {name: femto.load_bearing(name) for name in femto.ALL_BEARINGS}
    splits = {name: b.split for name, b in bearings.items()}
    runs: dict[int, dict[str, dict]] = {}
    for q in factors:
        runs[q] = {}
        for name, b in bearings.items():
            log(f"FEMTO {name} at {b.fs / q:g} Hz")
            runs[q][name] = femto_run(b, q)
    full = runs[1] if 1 in runs else {n: femto_run(b) for n, b in bearings.items()}
    log("FEMTO leave-one-bearing-out pairs at the recorded rate")
    lobo = lobo_rows(full, splits)["rows"]["joint"]
    pairs = {r["bearing"]: (r["trend_ratio"], r["crest_trend_ratio"]) for r in lobo}
    out = {}
    for q, r in runs.items():
        rate = bearings[femto.ALL_BEARINGS[0]].fs / q
        gate = rate >= BEARING_RULES_MIN_RATE_HZ
        for name, run in r.items():  # the replay must be the live path (as femto_section)
            if not np.array_equal(replay_states(run, HealthRules(), gate), run["state"]):
                raise RuntimeError(f"{name} at {rate:g} Hz: replay differs from the live run")
        states = {"live": {n: run["state"] for n, run in r.items()},
                  "lobo": {n: replay_states(run, pair_rules(pairs[n]), gate)
                           for n, run in r.items()},
                  "rules_forced_on": {n: replay_states(run, HealthRules(), True)
                                      for n, run in r.items()}}
        rows = {k: _alarm_rows(r, v, splits) for k, v in states.items()}
        monitor = AssetMonitor(femto_asset(bearings[femto.ALL_BEARINGS[0]]),
                               ["horizontal", "vertical"], rate)
        out[f"{rate:g}"] = {"decimate_by": q, "bearing_rules": gate, **rows,
                            "summary": {k: summarise(v) for k, v in rows.items()},
                            "not_analysed": list(monitor.unavailable)}
    return {"lobo_pairs": {k: list(v) for k, v in pairs.items()}, "rates": out}


def cwru_lines(section: dict) -> list[str]:
    lines = ["## CWRU drive end (12 kHz recorded), decimated", "",
             "Protocol of cwru_eval (module doc) at each rate. False % = held-out normal "
             "windows the anomaly model calls anomalous (k-fold over contiguous blocks, "
             "0, 1, 3 hp; 2 hp has no normal record); detected % / alarmed % = fault-record "
             "windows anomalous / not Normal; right / uncertain / confidently wrong = the "
             "fault type of the fault-record windows.", "",
             "| rate Hz | load hp | false % (false / held-out windows) | detected % | "
             "alarmed % (records) | right % | uncertain % | confidently wrong % |",
             "|---|---|---|---|---|---|---|---|"]
    for rate, r in section.items():
        for load_hp, s in r["summary"].items():
            if load_hp == "all":
                continue
            false = (f"{fmt(s['false_pct'])} ({s['held_out_false_windows']}/"
                     f"{s['held_out_normal_windows']})" if s["held_out_folds"] else "-")
            lines.append(f"| {rate} | {load_hp} | {false} | {s['detected_pct']:.1f} | "
                         f"{s['alarmed_pct']:.1f} ({s['records_alarmed']}/{s['records']}) | "
                         f"{s['right_pct']:.1f} | {s['uncertain_pct']:.1f} | "
                         f"{s['confidently_wrong_pct']:.1f} |")
    lines += ["", "| rate Hz | all loads: right % | confidently wrong % | not analysed at this "
              "rate |", "|---|---|---|---|"]
    for rate, r in section.items():
        a = r["summary"]["all"]
        lines.append(f"| {rate} | {a['right_pct']:.1f} | {a['confidently_wrong_pct']:.1f} | "
                     f"{'; '.join(r['not_analysed']) or '-'} |")
    return [*lines, ""]


def femto_lines(section: dict) -> list[str]:
    rates = section["rates"]
    lines = ["## FEMTO (25.6 kHz recorded), decimated", "",
             "Every bearing commissioned on its own first 60 snapshots at each rate. "
             "live = the monitor as shipped (rise ratios chosen on these 11 bearings at 25.6 "
             "kHz: not held out); lobo = the same with each bearing's ratio pair chosen at 25.6 "
             "kHz on the other 10 (held out); rules_forced_on = the bearing-damage rules left "
             f"on below {BEARING_RULES_MIN_RATE_HZ:.0f} Hz, where the shipped monitor switches "
             "them off (equal to live above it). First alarm = fraction of life at the first "
             "Pre-Warning or worse (the RUL onset).", "",
             "| rate Hz | rule | first-half alarms | max first-half not-Normal % | alarmed | "
             "median lead min |", "|---|---|---|---|---|---|"]
    for rate, r in rates.items():
        for key in RULES:
            s = r["summary"][key]
            lines.append(f"| {rate} | {key} | {s['first_half_alarms']} | "
                         f"{s['max_first_half_not_normal_pct']:.2f} | {s['alarmed']}/"
                         f"{s['units']} | {s['median_lead_min']:.1f} |")
    lines += ["", "Not analysed (the monitor's `unavailable`, in /diagnostics as "
              "`not_analysed`):", ""]
    lines += [f"- {rate} Hz: {'; '.join(r['not_analysed']) or 'nothing'}"
              for rate, r in rates.items()]
    names = [row["bearing"] for row in next(iter(rates.values()))["lobo"]]
    lines += ["", "First alarm, fraction of life: lobo (live; rules forced on):", "",
              "| bearing | " + " | ".join(f"{rate} Hz" for rate in rates) + " |",
              "|---|" + "---|" * len(rates)]
    for i, name in enumerate(names):
        cells = [f"{fmt(r['lobo'][i]['alarm_fraction_of_life'])} "
                 f"({fmt(r['live'][i]['alarm_fraction_of_life'])}; "
                 f"{fmt(r['rules_forced_on'][i]['alarm_fraction_of_life'])})"
                 for r in rates.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def report(summary: dict) -> str:
    lines = ["# Low-rate accelerometers: the any-machine path at MEMS rates", "",
             f"Command: `{COMMAND}`", "",
             f"Refused below {MIN_RATE_HZ:.0f} Hz (the ISO 10816-3 velocity band's 1000 Hz "
             "upper edge above 0.45 x the rate). Recordings decimated with "
             "scipy.signal.decimate (order-8 Chebyshev, zero phase); same rules and "
             "thresholds at every rate.", ""]
    if "cwru" in summary:
        lines += cwru_lines(summary["cwru"])
    if "femto" in summary:
        lines += femto_lines(summary["femto"])
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path = OUT / "low_rate.png") -> None:
    """CWRU false / detected / right / wrong % and FEMTO first-alarm life fractions (live,
    and with the bearing-damage rules forced on) against the rate; dashes: the bearing band
    rate below which those rules are off."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    gate_khz = BEARING_RULES_MIN_RATE_HZ / 1000
    if "cwru" in summary:
        ax = axes[0]
        rates = sorted(summary["cwru"], key=float)
        x = [float(r) / 1000 for r in rates]
        loads = [k for k in summary["cwru"][rates[0]]["summary"] if k != "all"]
        for key, label, style in (("detected_pct", "detected % (fault windows)", "o-"),
                                  ("alarmed_pct", "alarmed % (fault windows)", "D-"),
                                  ("false_pct", "false % (held-out normal windows)", "s-"),
                                  ("right_pct", "fault type right %", "^-"),
                                  ("confidently_wrong_pct", "fault type wrong %", "v-")):
            values = []
            for r in rates:
                per = [summary["cwru"][r]["summary"][k][key] for k in loads]
                per = [v for v in per if v is not None]
                values.append(float(np.mean(per)) if per else np.nan)
            ax.plot(x, values, style, label=label)
        ax.axvline(gate_khz, color="grey", ls="--", lw=0.8)
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.set_xlabel("sample rate (kHz)")
        ax.set_ylabel("% (mean over loads)")
        ax.set_title("CWRU drive end, 12 kHz decimated")
        ax.legend(fontsize=7)
    if "femto" in summary:
        ax = axes[1]
        rates = summary["femto"]["rates"]
        keys = sorted(rates, key=float)
        x = [float(r) / 1000 for r in keys]
        names = [row["bearing"] for row in rates[keys[0]]["live"]]
        colours = plt.cm.tab20(np.linspace(0, 1, len(names)))
        for i, name in enumerate(names):
            for key, style, label in (("lobo", "o-", name), ("rules_forced_on", "x:", None)):
                y = [rates[r][key][i]["alarm_fraction_of_life"] for r in keys]
                ax.plot(x, [np.nan if v is None else v for v in y], style, lw=0.8, ms=4,
                        color=colours[i], label=label)
        ax.axhline(0.5, color="red", ls=":", lw=0.8)
        ax.axvline(gate_khz, color="grey", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(x, [f"{v:.3g}" for v in x])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("sample rate (kHz)")
        ax.set_ylabel("first alarm (fraction of life)")
        ax.set_title("FEMTO: live (LOBO pair, o) and rules forced on (x)")
        ax.legend(fontsize=6, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="cwru,femto")
    args = parser.parse_args(argv)
    parts = args.only.split(",")
    OUT.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    if "femto" in parts:
        summary["femto"] = femto_rates()
    if "cwru" in parts:
        summary["cwru"] = cwru_rates()
    suffix = "" if set(parts) == {"cwru", "femto"} else "_" + "_".join(parts)
    text = report(summary)
    (OUT / f"low_rate{suffix}.md").write_text(text)
    (OUT / f"low_rate{suffix}.json").write_text(json.dumps(summary, indent=1))
    plot(summary, OUT / f"low_rate{suffix}.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
