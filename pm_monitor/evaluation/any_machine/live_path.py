"""The any-machine evaluation through the live path: every unit is played as SensorChunk fields
(0.1 s chunks, header stamps, sample indices, unit) through the monitor node's own pipeline
(`core.pipeline.offline_pipeline`, what `python -m pm_monitor.commission` runs: input checks,
unit conversion, the synchroniser's windows, the physics model set loaded from models/physics
with an asset file, the alarm manager), with nothing but the unit's asset description and its
own commissioning data. The direct path (femto_eval / cwru_eval) drives AssetMonitor on windows
cut by hand; this one shows what a user running the node would get, beside it.

    nice -n 10 python -m pm_monitor.evaluation.any_machine.live_path [--only cwru,femto,rig,mimii]
        [--femto Bearing1_3,Bearing2_3]   # a subset (default: all 11)
        [--mimii-clips N]                 # at most N test clips per label and fan id

Writes results/any_machine/live_path.md, live_path.json and live_path_femto.png (a run of
other parts than cwru,femto: live_path_<parts>.md/.json, e.g. live_path_rig.md; MIMII fans as
microphone-only assets, `--only mimii`: live_path_mimii.md/.json/.png, see live_path_mimii).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from pm_monitor.core.alarms import AlarmConfig, AlarmManager
from pm_monitor.core.alarms.lifecycle import AlarmEvent
from pm_monitor.core.condition import defects
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.pipeline import offline_pipeline
from pm_monitor.core.types import ACCEL, HealthState
from pm_monitor.datasets import cwru, femto
from pm_monitor.evaluation.any_machine import cwru_eval, femto_eval, mimii_eval, rig_eval
from pm_monitor.evaluation.any_machine.common import ASSETS, OUT, fmt, log

PHYSICS_MODELS = Path("models/physics")
CHUNK_S = 0.1
DEFAULT_PARTS = ("cwru", "femto")
GRID_S = 1_700_000_000  # a whole second: on every window grid (0.1, 0.25, 0.5 s hops)


@dataclass(frozen=True)
class LiveWindow:
    """What the node published for one window (the fields the evaluation scores)."""

    t_end_ns: int
    first_sample: int  # index in the played stream of the window's first sample
    decided: bool
    state: int  # -1 without a decision (commissioning)
    anomalous: bool
    fault: str  # the decision's fault type ("none" while Normal and not anomalous)
    raised: bool  # the alarm manager raised an alert on this window
    anomaly_score: float = float("nan")  # the decision's (nan without one)
    commissioning: bool = False  # no decision because a baseline is being learned


def write_asset(base: str, out_dir: Path, asset_id: str, **changes) -> Path:
    """config/assets/<base>.yaml as this unit's own asset file (id, speed, commissioning,
    analysis window): what a user writes for their machine."""
    data = yaml.safe_load((ASSETS / f"{base}.yaml").read_text())
    data["asset"]["id"] = asset_id
    for key, value in changes.items():
        data["asset"][key] = value
    path = out_dir / f"{asset_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class LiveUnit:
    """One asset's physics set behind the node's pipeline; `play` is one run (a record, a
    life) from a fresh synchroniser and alarm manager, the stored reference kept."""

    def __init__(self, asset_file: Path, reference_dir: Path, zone_alarms: bool = True) -> None:
        self.models = load_model_set(PHYSICS_MODELS, asset_file=str(asset_file),
                                     reference_dir=str(reference_dir))
        self.stage: PhysicsStage1 = self.models.cascade.stage1
        self.alarm_config = AlarmConfig(zone_alarm_enabled=zone_alarms)

    def play(self, x: np.ndarray, rate: float, channels: list[str], unit: str = "g",
             epoch_s: float = GRID_S, modality: str = ACCEL, chunk_loss: float = 0.0,
             seed: int = 0, chunk_s: float = CHUNK_S) -> list[LiveWindow]:
        """Stream `x` (n, n_channels) of input `modality` as `chunk_s` chunks stamped from half
        a sample after `epoch_s` (so windows end between samples, never on one). `chunk_loss`:
        each chunk is lost in transport with this probability (drawn from `seed`), as a
        best-effort link loses them: its samples never arrive and the synchroniser sees an
        index gap."""
        rng = np.random.default_rng(seed)
        self.models.reset()  # a new run: states and window overlap restart, reference kept
        pipeline = offline_pipeline(self.models, AlarmManager(self.stage.asset.asset_id,
                                                              self.alarm_config))
        t0_ns = round(epoch_s * 1e9) + round(0.5e9 / rate)
        n = round(chunk_s * rate)
        out: list[LiveWindow] = []
        for first in range(0, x.shape[0] - n + 1, n):
            if chunk_loss and rng.random() < chunk_loss:
                continue
            stamp = t0_ns + round(first / rate * 1e9)
            chunk = np.ascontiguousarray(x[first:first + n], dtype=np.float32).ravel()
            for w in pipeline.on_chunk(modality, stamp, rate, channels, first, chunk,
                                       unit=unit):
                r = w.result
                probs = r.fault_type_probabilities
                fault = max(probs, key=probs.get) if probs and max(probs.values()) > 0 \
                    else "none"
                start = w.window.streams[modality].t_start_ns
                out.append(LiveWindow(
                    r.t_end_ns, round((start - t0_ns) * rate / 1e9), r.decided,
                    int(r.state) if r.decided else -1, bool(r.anomalous), fault,
                    any(d.event == AlarmEvent.RAISED for d in w.decisions),
                    float(r.anomaly_score) if r.decided else float("nan"),
                    r.commissioning is not None))
        return out


def windows_of(x: np.ndarray, rate: float, window_s: float, hop_s: float
               ) -> Iterator[tuple[int, np.ndarray]]:
    """(first sample, window) as the direct path cuts them."""
    w, h = round(window_s * rate), round(hop_s * rate)
    for st in range(0, x.shape[0] - w + 1, h):
        yield st, x[st:st + w]


# --- CWRU ----------------------------------------------------------------------------------
def cwru_live(work: Path) -> dict:
    """Per load, as a live machine runs, with two units of the same asset:
    - false windows: the (nearest) normal record is one stream; the monitor commissions on its
      first 2.5 s of new data (the asset file's duration), then judges the rest; held-back
      windows are the decided ones that share no sample with a commissioning window;
    - detection and fault type: a unit commissioned on the whole normal record (as cwru_eval
      does), the fault records played as separate runs against it."""
    records = cwru.list_records()
    normals = {r.load_hp: r for r in records if r.label == "NORMAL"}
    rate = cwru.RATE_12K_HZ
    window = {"window_s": cwru_eval.CWRU_WINDOW_S, "hop_s": cwru_eval.CWRU_HOP_S}
    results = {}
    for load_hp in sorted({r.load_hp for r in records}):
        ref_load = load_hp if load_hp in normals else min(normals,
                                                          key=lambda k: abs(k - load_hp))
        log(f"CWRU load {load_hp} through the live path")
        normal_x = cwru.load_record(normals[ref_load]).samples
        stream = LiveUnit(write_asset("cwru_motor", work, f"cwru_{load_hp}hp_stream",
                                      analysis=window), work / "refs")
        normal = stream.play(normal_x, rate, ["DE"])
        learned = [w for w in normal if not w.decided]
        learned_end = learned[-1].first_sample + round(cwru_eval.CWRU_WINDOW_S * rate)
        held = [w for w in normal if w.decided and w.first_sample >= learned_end] \
            if ref_load == load_hp else []
        unit = LiveUnit(write_asset("cwru_motor", work, f"cwru_{load_hp}hp",
                                    commissioning={"duration_s": normal_x.shape[0] / rate},
                                    analysis=window), work / "refs")
        unit.play(normal_x, rate, ["DE"])
        # the record is all the normal data there is: the reference is fitted on every window
        # the stream gave (as cwru_eval does), so no fault window can ever join it
        unit.stage.monitor.builder.finish()
        unit.stage.store.save(unit.stage.monitor.reference)
        per_record = []
        for rec in (r for r in records if r.load_hp == load_hp and r.label != "NORMAL"):
            outs = unit.play(cwru.load_record(rec).samples, rate, ["DE"])
            assert all(w.decided for w in outs), "a fault window reached commissioning"
            truth = cwru_eval.TYPE_OF_LABEL[rec.label[:2]]
            calls = [w.fault for w in outs]  # the asset maps DE to the drive end only
            per_record.append({
                "record": rec.record, "label": rec.label, "truth": truth, "windows": len(outs),
                "detected": sum(w.anomalous for w in outs),
                "alarmed": sum(w.state > 0 for w in outs),  # windows not Normal
                "alerts_raised": sum(w.raised for w in outs),
                "right": sum(c == truth for c in calls),
                "uncertain": sum(c == defects.UNCERTAIN for c in calls),
                "majority": Counter(calls).most_common(1)[0][0] if calls else "none",
                "calls": dict(Counter(calls))})
        span_s = (held[-1].first_sample - held[0].first_sample) / rate + \
            cwru_eval.CWRU_WINDOW_S if held else 0.0
        results[str(load_hp)] = {
            "reference_load_hp": ref_load, "commissioning_windows": len(learned),
            "commissioning_s_of_record": learned_end / rate,
            "typing_reference_windows": len(unit.stage.monitor.reference.rows),
            "typing_commissioned": unit.stage.monitor.commissioned,
            "held_out_normal": {
                "k": 1, "windows": len(held), "false": int(sum(w.anomalous for w in held)),
                "independent_windows": int(span_s // cwru_eval.CWRU_WINDOW_S),
                "alerts_raised": int(sum(w.raised for w in held))} if held else None,
            "records": per_record}
    return results


# --- FEMTO ---------------------------------------------------------------------------------
def femto_live(work: Path, bearings: list[str]) -> list[dict]:
    """Per bearing, as femto_eval: snapshots back to back (0.1 s windows = one snapshot each),
    commissioning on the first 60 snapshots; alarm = state >= Pre-Warning, and separately the
    first alert the alarm manager raises (ISO zone alarms off, as in the demo: PRONOSTIA is no
    ISO 10816-3 machine)."""
    rows = []
    for name in bearings:
        log(f"FEMTO {name} through the live path")
        b = femto.load_bearing(name)
        asset = write_asset("femto_bearing", work, f"femto_{name}",
                            shaft_speed={"source": "fixed", "nominal_rpm": float(b.rpm)},
                            commissioning={"duration_s": femto_eval.FEMTO_COMMISSION_S},
                            analysis={"window_s": 0.1, "hop_s": 0.1})
        unit = LiveUnit(asset, work / "refs", zone_alarms=False)
        n_snap, per, _ = b.acc_g.shape
        windows = unit.play(b.acc_g.reshape(n_snap * per, -1), b.fs,
                            ["horizontal", "vertical"])
        state = np.full(n_snap, -1)
        raised = np.zeros(n_snap, bool)
        for w in windows:
            j = w.first_sample // per
            if w.first_sample % per == 0 and j < n_snap:  # one whole snapshot per window
                state[j], raised[j] = w.state, w.raised
        direct = femto_eval.femto_run(b)
        both = (state >= 0) & (direct["state"] >= 0)
        rows.append({
            "bearing": name, "split": b.split, "life_min": float(b.t_s[-1] / 60),
            "live_state": femto_eval.first_alarm(b.t_s, state >= HealthState.PRE_WARNING),
            "live_alerts": femto_eval.first_alarm(b.t_s, np.maximum.accumulate(raised)),
            "direct_state": femto_eval.first_alarm(
                b.t_s, direct["state"] >= HealthState.PRE_WARNING),
            "snapshots_judged_live": int((state >= 0).sum()),
            "snapshots_judged_direct": int((direct["state"] >= 0).sum()),
            "state_agreement_pct": float(100.0 * np.mean(state[both] == direct["state"][both]))
            if both.any() else None})
    return rows


# --- simulated rig -------------------------------------------------------------------------
# the rig node's chunk (nodes/params.py chunk_s): the simulator draws its noise per call, so a
# stream is what the node publishes only when asked for in the node's chunks
RIG_NODE_CHUNK_S = 0.02


def rig_stream(sim, duration_s: float) -> np.ndarray:
    """The first `duration_s` of the simulator's accelerometer as the rig node publishes it
    (one call per chunk), (n, 3) m/s^2 float32."""
    rate = sim.config.accel_rate
    n, chunk = round(duration_s * rate), round(RIG_NODE_CHUNK_S * rate)
    return np.concatenate([sim.accel(st, min(chunk, n - st)) for st in range(0, n, chunk)])


def rig_live(work: Path) -> dict:
    """Per schedule, as rig_eval: the rig's asset file with rig_eval's 1 s / 0.5 s windows,
    commissioning on the first 20 s of new data, the 240 s played as one stream; ISO zone
    alarms on (the rig is a group-2 motor). Scored like the direct path on the first
    not-Normal window, plus the first alert the alarm manager raises."""
    out = {}
    for name, schedule, sim in rig_eval.rig_runs():
        log(f"rig {name} through the live path")
        asset = write_asset("rig_motor", work, f"rig_{name}",
                            analysis={"window_s": rig_eval.RIG_WINDOW_S,
                                      "hop_s": rig_eval.RIG_HOP_S})
        rate = sim.config.accel_rate
        windows = LiveUnit(asset, work / "refs").play(
            rig_stream(sim, rig_eval.RIG_DURATION_S), rate, list(sim.config.accel_channels),
            unit="m/s^2")
        t_end = [w.first_sample / rate + rig_eval.RIG_WINDOW_S for w in windows]
        first = next((k for k, w in enumerate(windows) if w.state > HealthState.NORMAL), None)
        types = [w.fault for w in windows[first:] if w.fault != "none"] \
            if first is not None else []
        row = rig_eval.rig_scores(schedule, None if first is None else t_end[first], types)
        onset = row["onset_s"]
        timed = list(zip(t_end, windows, strict=True))
        alerts = [t for t, w in timed if w.raised]
        row.update({
            "windows": len(windows), "commissioning_windows": sum(not w.decided for w in windows),
            "first_alert_s": alerts[0] if alerts else None,
            "alert_delay_s": alerts[0] - onset if alerts and onset is not None else None,
            "alerts_raised": len(alerts),
            "false_alerts": sum(onset is None or t < onset for t in alerts),
            "not_normal_before_onset": sum(w.state > HealthState.NORMAL for t, w in timed
                                           if onset is None or t < onset)})
        out[name] = row
    return out


def cwru_direct_summary() -> dict:
    """cwru_eval's numbers (the direct path), from its stored report when there is one."""
    stored = OUT / "summary.json"
    if stored.is_file():
        data = json.loads(stored.read_text())
        if "cwru" in data:
            return data["cwru"]["summary"]
    res = cwru_eval.cwru_section()
    return cwru_eval.cwru_summary(res)


def report(section: dict) -> str:
    only = section.get("parts", ["cwru", "femto"])
    lines = ["# Any machine, day one: the evaluation through the live path", "",
             "Command: `nice -n 10 python -m pm_monitor.evaluation.any_machine.live_path"
             + ("" if set(only) == set(DEFAULT_PARTS) else f" --only {','.join(only)}")
             + (f" --femto {','.join(section['femto_bearings'])}`"
                if section.get("femto_subset") else "`"), "",
             "Every unit is played as 0.1 s SensorChunks through the monitor node's pipeline "
             "(`core.pipeline.offline_pipeline`: input checks, unit conversion, synchroniser "
             "windows, the physics model set from models/physics + a per-unit asset file, "
             "the alarm manager). Direct = the AssetMonitor-driven evaluation "
             "(`python -m pm_monitor.evaluation.any_machine`).", ""]
    if "cwru" in section:
        live, direct = cwru_eval.cwru_summary(section["cwru"]), section["cwru_direct"]
        lines += ["## CWRU (drive end, 12 kHz, 0.5 s windows / 0.25 s hop from the asset file)",
                  "", "| load hp | path | detected % | false % (held-out windows) | IR/OR "
                  "007+021 majority right | their windows right % | right % | uncertain % |"
                  " confidently wrong % |", "|---|---|---|---|---|---|---|---|---|"]
        for load_hp in live:
            if load_hp == "all":
                continue
            for path, s in (("live", live[load_hp]), ("direct", direct.get(load_hp))):
                if s is None:
                    continue
                held = s.get("held_out_normal_windows", 0)
                lines.append(f"| {load_hp} | {path} | {s['detected_pct']:.1f} | "
                             f"{fmt(s['false_pct'])} ({held}) | "
                             f"{s['race_007_021_majority_right']}/{s['race_007_021_records']} |"
                             f" {s['race_007_021_window_right_pct']:.1f} | {s['right_pct']:.1f}"
                             f" | {s['uncertain_pct']:.1f} | {s['confidently_wrong_pct']:.1f} |")
        a, d = live["all"], direct.get("all", {})
        lines += ["", f"All loads, live: right {a['right_pct']:.1f} %, right or uncertain "
                  f"{a['right_or_uncertain_pct']:.1f} %, confidently wrong "
                  f"{a['confidently_wrong_pct']:.1f} % (direct: "
                  f"{fmt(d.get('right_pct'))} / {fmt(d.get('right_or_uncertain_pct'))} / "
                  f"{fmt(d.get('confidently_wrong_pct'))}).", ""]
        spans = ", ".join(f"{k} hp: {r['commissioning_windows']} windows, first "
                          f"{r['commissioning_s_of_record']:.2f} s"
                          for k, r in section["cwru"].items())
        alerts = sum(r["held_out_normal"]["alerts_raised"] for r in section["cwru"].values()
                     if r["held_out_normal"])
        lines += ["False windows, live: the normal record as one stream, commissioning on the "
                  f"asset file's 2.5 s of new data ({spans}); held-back = the later windows "
                  "sharing no sample with them, states kept across them as on a machine "
                  f"(alerts the alarm manager raised there: {alerts}). Direct: cwru_eval's "
                  "k-fold blocks scored every 25 ms. Detection and fault type, both paths: "
                  "commissioned on the whole normal record (live: every window the stream "
                  "gave, i.e. all but its first hop and last window), the fault records as "
                  "separate runs.", ""]
    if "femto" in section:
        lines += ["## FEMTO (commissioning on the first 60 snapshots; 0.1 s windows from the "
                  "asset file)", "",
                  "| bearing | split | life min | live: 1st-half alarms / not-Normal % / "
                  "alarm at life / lead min | direct: same | live alerts (alarm manager): "
                  "1st-half / lead min | state agreement % |", "|---|---|---|---|---|---|---|"]
        for r in section["femto"]:
            ls, ds, la = r["live_state"], r["direct_state"], r["live_alerts"]
            lines.append(
                f"| {r['bearing']} | {r['split']} | {r['life_min']:.0f} | "
                f"{ls['first_half_alarms']} / {ls['first_half_not_normal_pct']:.2f} / "
                f"{fmt(ls['alarm_fraction_of_life'])} / {fmt(ls['lead_min'])} | "
                f"{ds['first_half_alarms']} / {ds['first_half_not_normal_pct']:.2f} / "
                f"{fmt(ds['alarm_fraction_of_life'])} / {fmt(ds['lead_min'])} | "
                f"{la['first_half_alarms']} / {fmt(la['lead_min'])} | "
                f"{fmt(r['state_agreement_pct'])} |")
        for key, label in (("live_state", "live"), ("direct_state", "direct"),
                           ("live_alerts", "live alerts")):
            s = femto_eval.summarise([r[key] for r in section["femto"]])
            lines.append(f"\n{label}: first-half alarms {s['first_half_alarms']}, max "
                         f"first-half not-Normal {s['max_first_half_not_normal_pct']:.2f} %, "
                         f"alarmed {s['alarmed']}/{s['units']}, median lead "
                         f"{s['median_lead_min']:.1f} min")
        lines.append("")
    if "rig" in section:
        lines += rig_report_lines(section["rig"], section["rig_direct"])
    if "mimii" in section:
        from pm_monitor.evaluation.any_machine.live_path_mimii import mimii_report_lines
        lines += mimii_report_lines(section["mimii"], section["mimii_direct"],
                                    section.get("mimii_clips", 0))
    return "\n".join(lines) + "\n"


def rig_report_lines(live: dict, direct: dict) -> list[str]:
    """The rig table: per schedule, the live path beside the direct path (rig_eval)."""
    lines = ["## Simulated rig (triaxial 25.6 kHz m/s^2, 1 s windows / 0.5 s hop, "
             "commissioning on the first 20 s)", "",
             "| schedule | truth | onset s | path | first not-Normal s | delay s | false alarm |"
             " first alert s (delay) | alerts before onset / raised | fault type (majority "
             "after not-Normal) | right % |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in live.items():
        d = direct.get(name, {})
        lines.append(
            f"| {name} | {r['truth']} | {fmt(r['onset_s'])} | live | {fmt(r['first_alarm_s'])}"
            f" | {fmt(r['delay_s'])} | {r['false_alarm']} | {fmt(r['first_alert_s'])} "
            f"({fmt(r['alert_delay_s'])}) | {r['false_alerts']} / {r['alerts_raised']} | "
            f"{r['fault_type_majority']} | {fmt(r['fault_type_right_pct'])} |")
        if d:
            lines.append(
                f"| {name} | {d['truth']} | {fmt(d['onset_s'])} | direct | "
                f"{fmt(d['first_alarm_s'])} | {fmt(d['delay_s'])} | {d['false_alarm']} | - | - |"
                f" {d['fault_type_majority']} | {fmt(d['fault_type_right_pct'])} |")
    lines += ["", "Live: the 240 s drawn from the simulator in the rig node's 0.02 s chunks (one "
              "continuous stream, as the node publishes it) and played as 0.1 s chunks; its "
              "windows start one hop later than the direct path's (the synchroniser's grid "
              "begins one window after the first stamp), times are window ends from the "
              "stream's start. The direct path asks the simulator for each 1 s window "
              "separately, and the simulator draws its noise per call, so its overlapping "
              "windows are not one stream: the two paths see different noise. Alerts: "
              "what the alarm manager raised (ISO zone alarms on). Direct: rig_eval "
              "(AssetMonitor on windows cut by hand), recomputed in the same run.", ""]
    return lines


def plot(section: dict, path: Path) -> None:
    """FEMTO: where in life each path alarms (live state, direct state, live alert)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = section["femto"]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    for k, (key, label, marker) in enumerate((("direct_state", "direct: state", "o"),
                                              ("live_state", "live: state", "x"),
                                              ("live_alerts", "live: first alert", "|"))):
        y = [i + 0.2 * (k - 1) for i in range(len(rows))]
        x = [r[key]["alarm_fraction_of_life"] or np.nan for r in rows]
        ax.plot(x, y, marker, ls="none", ms=8, label=label)
    ax.axvline(0.5, color="0.6", ls="--", lw=1, label="half of life")
    ax.set_yticks(range(len(rows)), [r["bearing"] for r in rows])
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("fraction of life at the first alarm (state: Pre-Warning or above; alert: "
                  "any the alarm manager raises, anomaly-only ones included)")
    ax.set_title("FEMTO through the live path (node pipeline) vs the direct path")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(DEFAULT_PARTS))
    parser.add_argument("--femto", default="", help="bearings (default: all 11)")
    parser.add_argument("--mimii-clips", type=int, default=0,
                        help="at most this many test clips per label and fan id (0: all)")
    args = parser.parse_args(argv)
    parts = args.only.split(",")
    bearings = args.femto.split(",") if args.femto else list(femto.ALL_BEARINGS)
    section: dict = {"parts": parts, "femto_bearings": bearings,
                     "femto_subset": bool(args.femto) and len(bearings) < len(femto.ALL_BEARINGS)}
    with tempfile.TemporaryDirectory(prefix="live_path_") as tmp:
        work = Path(tmp)
        if "cwru" in parts:
            section["cwru"] = cwru_live(work)
            section["cwru_direct"] = cwru_direct_summary()
        if "femto" in parts:
            section["femto"] = femto_live(work, bearings)
        if "rig" in parts:
            section["rig"] = rig_live(work)
            # recomputed (about a minute), never read back: a stored report may predate the rules
            section["rig_direct"] = rig_eval.rig_section()
        if "mimii" in parts:
            from pm_monitor.evaluation.any_machine import live_path_mimii
            section["mimii"] = live_path_mimii.mimii_live(work, args.mimii_clips)
            section["mimii_clips"] = args.mimii_clips
            # recomputed (seconds): the direct path's AUROC on the same split
            section["mimii_direct"] = mimii_eval.mimii_section()
    OUT.mkdir(parents=True, exist_ok=True)
    text = report(section)
    suffix = "" if set(parts) == set(DEFAULT_PARTS) else "_" + "_".join(parts)  # partial runs
    (OUT / f"live_path{suffix}.md").write_text(text)
    (OUT / f"live_path{suffix}.json").write_text(json.dumps(section, indent=1, default=str))
    if section.get("femto"):
        plot(section, OUT / "live_path_femto.png")
    if section.get("mimii"):
        from pm_monitor.evaluation.any_machine.live_path_mimii import plot_mimii
        plot_mimii(section["mimii"], OUT / "live_path_mimii.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
