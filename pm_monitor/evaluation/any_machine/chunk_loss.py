"""The any-machine path under lossy transport: every unit of the live-path evaluation
(`live_path.LiveUnit`: 0.1 s SensorChunks through the node's pipeline, synchroniser, physics
model set, alarm manager) played again with each chunk lost with probability p (a best-effort
link: the samples never arrive, the synchroniser sees an index gap), commissioning included.

    nice -n 10 python -m pm_monitor.evaluation.any_machine.chunk_loss --variant after
        [--only cwru,mimii,rig] [--losses 0,0.02,0.05,0.1,0.2] [--seeds 2]
    python -m pm_monitor.evaluation.any_machine.chunk_loss --report   # tables + PNG only

A run stores results/any_machine/chunk_loss_runs/<variant>.json (the variant names the code it
ran on, e.g. "before" for the commit that scored zero-filled holes); `--report` (also done
after every run) writes chunk_loss.md, chunk_loss.json and chunk_loss.png from every stored
run. Nothing is chosen on these units: the asset files, thresholds and rules are the shipped
ones, and each unit's reference is learned from its own (lossy) stream.

Counted per data set and loss rate, summed over seeds (different loss patterns):
* healthy: windows after commissioning, decided, not Normal (false windows), alerts raised
  (false alarms);
* faulty: windows, decided, not Normal among the decided (detection), time to the first
  not-Normal window from the stream's start.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from pm_monitor.core.types import HealthState
from pm_monitor.datasets import cwru
from pm_monitor.evaluation.any_machine import cwru_eval, rig_eval
from pm_monitor.evaluation.any_machine.common import OUT, log
from pm_monitor.evaluation.any_machine.live_path import (
    CHUNK_S,
    LiveUnit,
    LiveWindow,
    rig_stream,
    write_asset,
)

RUNS = OUT / "chunk_loss_runs"
# the transport's chunk (s): 0.1 s as the live path plays, or the rig node's 0.02 s (a lost
# chunk then leaves a hole under 5 % of a window)
_CHUNK = {"s": CHUNK_S}
LOSSES = (0.0, 0.02, 0.05, 0.10, 0.20)
PARTS = ("cwru", "mimii", "rig")


def _tally(windows: list[LiveWindow]) -> dict:
    """Counts over the windows after the unit's last commissioning window (those refused
    before it were refused while learning; a unit that never finished learning counts its
    refused windows after the last learned one: `commissioned` beside says so)."""
    last = max((k for k, w in enumerate(windows) if w.commissioning), default=-1)
    judged = windows[last + 1:]
    decided = [w for w in judged if w.decided]
    return {"windows": len(judged), "decided": len(decided),
            "not_normal": sum(w.state > HealthState.NORMAL for w in decided),
            "anomalous": sum(w.anomalous for w in decided),
            "alerts": sum(w.raised for w in judged)}


def _add(total: dict, part: dict) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


# --- CWRU ----------------------------------------------------------------------------------
def cwru_lossy(work: Path, loss: float, seed: int) -> dict:
    """As live_path.cwru_live, every stream lossy: healthy = the normal record as one stream
    after its commissioning (loads with a normal record); faulty = the fault records as
    separate runs against a unit commissioned on the whole (lossy) normal record."""
    records = cwru.list_records()
    normals = {r.load_hp: r for r in records if r.label == "NORMAL"}
    rate, window_s = cwru.RATE_12K_HZ, cwru_eval.CWRU_WINDOW_S
    window = {"window_s": window_s, "hop_s": cwru_eval.CWRU_HOP_S}
    healthy: dict = {}
    faulty: dict = {"first_not_normal_s": []}
    for load_hp in sorted({r.load_hp for r in records}):
        ref_load = load_hp if load_hp in normals else min(normals,
                                                          key=lambda k: abs(k - load_hp))
        normal_x = cwru.load_record(normals[ref_load]).samples
        if ref_load == load_hp:
            stream = LiveUnit(write_asset("cwru_motor", work, f"cwru_{load_hp}hp_stream",
                                          analysis=window), work / "refs")
            outs = stream.play(normal_x, rate, ["DE"], chunk_s=_CHUNK["s"], chunk_loss=loss,
                               seed=seed * 7919 + load_hp)
            learned = [w for w in outs if w.commissioning]
            end = learned[-1].first_sample + round(window_s * rate) if learned else 0
            _add(healthy, _tally([w for w in outs if w.first_sample >= end]))
            _add(healthy, {"units": 1, "commissioned": int(stream.stage.commissioned())})
        unit = LiveUnit(write_asset("cwru_motor", work, f"cwru_{load_hp}hp",
                                    commissioning={"duration_s": normal_x.shape[0] / rate},
                                    analysis=window), work / "refs")
        unit.play(normal_x, rate, ["DE"], chunk_s=_CHUNK["s"], chunk_loss=loss,
                  seed=seed * 7919 + 100 + load_hp)
        monitor = unit.stage.monitor
        if monitor is None or not monitor.reference.rows:
            continue  # nothing learned: no fault record can be judged
        monitor.builder.finish()
        unit.stage.store.save(monitor.reference)
        for k, rec in enumerate(r for r in records if r.load_hp == load_hp
                                and r.label != "NORMAL"):
            outs = unit.play(cwru.load_record(rec).samples, rate, ["DE"], chunk_s=_CHUNK["s"],
                             chunk_loss=loss,
                             seed=seed * 7919 + 1000 * (load_hp + 1) + k)
            _add(faulty, _tally(outs))
            first = next((w for w in outs if w.state > HealthState.NORMAL), None)
            faulty["first_not_normal_s"].append(
                None if first is None else first.first_sample / rate + window_s)
    return {"healthy": healthy, "faulty": faulty}


# --- MIMII ---------------------------------------------------------------------------------
def mimii_lossy(work: Path, loss: float, seed: int) -> dict:
    """As live_path_mimii.mimii_live, every clip lossy: healthy = the normal test clips,
    faulty = the anomalous ones (each a fresh stream on the commissioned fan)."""
    from pm_monitor.evaluation.any_machine.live_path_mimii import (
        FAN_ASSET,
        commission_fan,
        play_clip,
    )
    from pm_monitor.evaluation.any_machine.mimii_eval import auroc, fan_splits

    healthy: dict = {"clips": 0, "clips_alerted": 0}
    faulty: dict = {"clips": 0, "clips_alerted": 0, "first_not_normal_s": []}
    scores, labels = [], []
    for i, (mid, (train, test)) in enumerate(fan_splits().items()):
        asset = write_asset(FAN_ASSET, work, f"{FAN_ASSET}_{mid}",
                            commissioning={"duration_s": 10.0 * len(train)})
        unit = LiveUnit(asset, work / "refs", zone_alarms=False)
        commission_fan(unit, train, loss, seed * 7919 + 100 * i, _CHUNK["s"])
        hop = unit.stage.hop_s
        for k, clip in enumerate(test):
            outs = play_clip(unit, clip, loss, seed * 7919 + 100 * i + 50 + k, _CHUNK["s"])
            part = healthy if clip.label == "normal" else faulty
            tally = _tally(outs)
            _add(part, tally)
            part["clips"] += 1
            part["clips_alerted"] += tally["alerts"] > 0
            decided = [w.anomaly_score for w in outs if w.decided]
            if decided:
                scores.append(float(np.mean(decided)))
                labels.append(clip.label == "anomaly")
            if part is faulty:
                first = next((j for j, w in enumerate(outs) if w.state > HealthState.NORMAL),
                             None)
                part["first_not_normal_s"].append(None if first is None else
                                                  unit.stage.asset.window_s + first * hop)
    return {"healthy": healthy, "faulty": faulty,
            "auroc": auroc(scores, labels) if any(labels) and not all(labels) else None}


# --- simulated rig -------------------------------------------------------------------------
_RIG_STREAMS: dict[str, tuple[np.ndarray, object, object]] = {}


def rig_lossy(work: Path, loss: float, seed: int) -> dict:
    """As live_path.rig_live, each schedule's 240 s lossy: healthy = the healthy schedule and
    the faulty ones before their onset; faulty = after the onset."""
    if not _RIG_STREAMS:
        cache = Path(tempfile.gettempdir()) / "pm_monitor_chunk_loss"
        cache.mkdir(exist_ok=True)
        for name, schedule, sim in rig_eval.rig_runs():
            path = cache / f"rig_{name}_{rig_eval.RIG_DURATION_S:g}s.npy"
            if not path.exists():  # the simulator is deterministic (seed 0) and slow
                np.save(path, rig_stream(sim, rig_eval.RIG_DURATION_S))
            _RIG_STREAMS[name] = (np.load(path), schedule, sim)
    healthy: dict = {}
    faulty: dict = {"first_not_normal_s": []}
    for i, (name, (x, schedule, sim)) in enumerate(_RIG_STREAMS.items()):
        asset = write_asset("rig_motor", work, f"rig_{name}",
                            analysis={"window_s": rig_eval.RIG_WINDOW_S,
                                      "hop_s": rig_eval.RIG_HOP_S})
        rate = sim.config.accel_rate
        unit = LiveUnit(asset, work / "refs")
        outs = unit.play(x, rate, list(sim.config.accel_channels), unit="m/s^2",
                         chunk_s=_CHUNK["s"], chunk_loss=loss, seed=seed * 7919 + i)
        _add(healthy, {"units": 1, "commissioned": int(unit.stage.commissioned())})
        onset = min((f.onset_s for f in schedule.faults), default=None)
        t_end = [w.first_sample / rate + rig_eval.RIG_WINDOW_S for w in outs]
        _add(healthy, _tally([w for t, w in zip(t_end, outs, strict=True)
                              if onset is None or t < onset]))
        if onset is not None:
            after = [(t, w) for t, w in zip(t_end, outs, strict=True) if t >= onset]
            _add(faulty, _tally([w for _, w in after]))
            first = next((t for t, w in after if w.state > HealthState.NORMAL), None)
            faulty["first_not_normal_s"].append(None if first is None else first - onset)
    return {"healthy": healthy, "faulty": faulty}


SECTIONS = {"cwru": cwru_lossy, "mimii": mimii_lossy, "rig": rig_lossy}


def run(parts: list[str], losses: list[float], seeds: int, store: Path) -> dict:
    """{part: {loss: {"healthy": counts, "faulty": counts (+ auroc)}}} summed over seeds, into
    `store` (a variant's run file: parts and losses run before are kept) after every loss."""
    stored = json.loads(store.read_text()) if store.exists() else {"results": {}}
    out: dict = stored["results"]
    for part in parts:
        out.setdefault(part, {})
        for loss in losses:
            total: dict = {"healthy": {}, "faulty": {}, "auroc": []}
            for seed in range(seeds if loss > 0 else 1):  # no loss: one pattern only
                log(f"{part}: chunk loss {loss:.0%}, seed {seed}")
                with tempfile.TemporaryDirectory(prefix="chunk_loss_") as tmp:
                    result = SECTIONS[part](Path(tmp), loss, seed)
                for key in ("healthy", "faulty"):
                    for k, v in result[key].items():
                        if isinstance(v, list):
                            total[key].setdefault(k, []).extend(v)
                        else:
                            total[key][k] = total[key].get(k, 0) + v
                if result.get("auroc") is not None:
                    total["auroc"].append(result["auroc"])
            total["seeds"] = seeds if loss > 0 else 1
            out[part][f"{loss:g}"] = total
            stored["results"] = out
            store.write_text(json.dumps(stored, indent=1))
    return out


# --- report --------------------------------------------------------------------------------
TITLES = {
    "cwru": "CWRU (real, drive end 12 kHz, 0.5 s windows / 0.25 s hop; healthy: the normal "
            "records at 0, 1, 3 hp after commissioning on their first 2.5 s; faulty: the 36 "
            "fault records against a unit commissioned on the whole normal record)",
    "mimii": "MIMII fans (real, microphone only, 16 kHz, 1 s windows / 0.5 s hop; healthy: "
             "the normal test clips, faulty: the anomalous ones)",
    "rig": "Simulated rig (triaxial 25.6 kHz, 1 s windows / 0.5 s hop, 240 s per schedule; "
           "healthy: the healthy schedule and both faulty ones before their onset; faulty: "
           "after the onset; delay from the onset)"}


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f}" if b else "-"


def _delay(values: list) -> str:
    found = [v for v in values if v is not None]
    if not values:
        return "-"
    return (f"{np.median(found):.2f} ({len(found)}/{len(values)})" if found
            else f"- (0/{len(values)})")


def table(runs: dict[str, dict], part: str) -> list[str]:
    lines = [f"## {TITLES[part]}", "",
             "| chunk loss | code | healthy: decided / windows (%) | false windows: not Normal "
             "/ anomaly flag | false alarms (alerts) | faulty: decided / windows (%) | "
             "detected: not Normal / anomalous, % of decided | median s to 1st not-Normal "
             "(runs detected) | AUROC |",
             "|---|---|---|---|---|---|---|---|---|"]
    losses = sorted({float(loss) for r in runs.values() for loss in r.get(part, {})})
    for loss in losses:
        for variant, r in runs.items():
            row = r.get(part, {}).get(f"{loss:g}")
            if row is None:
                continue
            h, f = row["healthy"], row["faulty"]
            auc = f"{np.mean(row['auroc']):.3f}" if row.get("auroc") else "-"
            units = (f"; commissioned {h['commissioned']}/{h['units']}" if h.get("units")
                     else "")
            lines.append(
                f"| {loss:.0%} (x{row['seeds']}) | {variant} | {h.get('decided', 0)} / "
                f"{h.get('windows', 0)} ({_pct(h.get('decided', 0), h.get('windows', 0))}"
                f"{units}) | "
                f"{h.get('not_normal', 0)} / {h.get('anomalous', 0)} | {h.get('alerts', 0)} | "
                f"{f.get('decided', 0)} / "
                f"{f.get('windows', 0)} ({_pct(f.get('decided', 0), f.get('windows', 0))}) | "
                f"{_pct(f.get('not_normal', 0), f.get('decided', 0))} / "
                f"{_pct(f.get('anomalous', 0), f.get('decided', 0))} | "
                f"{_delay(f.get('first_not_normal_s', []))} | {auc} |")
    return [*lines, ""]


def plot(runs: dict[str, dict], parts: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(parts), figsize=(4.2 * len(parts), 6.5), squeeze=False)
    for j, part in enumerate(parts):
        for k, (variant, r) in enumerate(runs.items()):
            rows = r.get(part, {})
            if not rows:
                continue
            x = sorted(float(v) for v in rows)
            h = [rows[f"{v:g}"]["healthy"] for v in x]
            decided = [100.0 * c.get("decided", 0) / max(c.get("windows", 0), 1) for c in h]
            false = [c.get("not_normal", 0) for c in h]
            pct = [100 * v for v in x]
            axes[0, j].plot(pct, decided, "o-", color=f"C{k}", label=variant)
            axes[1, j].plot(pct, false, "o-", color=f"C{k}", label=variant)
        axes[0, j].set_title(part)
        axes[0, j].set_ylabel("healthy windows decided %")
        axes[1, j].set_ylabel("false windows (healthy, not Normal)")
        axes[1, j].set_ylim(-0.5, max(1.0, axes[1, j].get_ylim()[1]))
        for ax, where in zip(axes[:, j], ("lower left", "upper left"), strict=True):
            ax.set_xlabel("chunk loss %")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc=where)
    fig.suptitle("Any-machine path under chunk loss (live path; 0.1 s chunks unless "
                 "the code says 0.02 s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report() -> str:
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))}
    runs = {k: v["results"] for k, v in sorted(runs.items(), key=lambda kv: kv[1]["order"])}
    parts = [p for p in PARTS if any(p in r for r in runs.values())]
    lines = ["# Any machine under chunk loss (lossy transport)", "",
             "Command: `nice -n 10 python -m pm_monitor.evaluation.any_machine.chunk_loss "
             "--variant <code>` per code version, then `--report`.", "",
             "Each chunk (0.1 s unless the code says 0.02 s) is lost with the given "
             "probability, commissioning included; xN = N loss patterns (seeds) summed. "
             "Decided = windows Stage 1 voted on after the unit's commissioning (the rest were "
             "refused: too few samples received). A false window is a healthy window whose "
             "state is not Normal; an anomaly flag alone changes no state and raises nothing "
             "here. The shipped rules and thresholds throughout; MIN_COVERAGE 0.5 was chosen "
             "on the simulated rig (`rig-tuning-*`), so CWRU and MIMII chose nothing.", "",
             "Code versions:", ""] + [
                 f"- `{v}`: {json.loads((RUNS / f'{v}.json').read_text())['code']}"
                 for v in runs] + [""]
    for part in parts:
        lines += table(runs, part)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "chunk_loss.json").write_text(json.dumps(runs, indent=1))
    plot(runs, parts, OUT / "chunk_loss.png")
    text = "\n".join(lines) + "\n"
    (OUT / "chunk_loss.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="", help="name of this run's code version")
    parser.add_argument("--code", default="", help="one line: what the code version does")
    parser.add_argument("--order", type=int, default=0, help="column order in the report")
    parser.add_argument("--only", default=",".join(PARTS))
    parser.add_argument("--losses", default=",".join(f"{v:g}" for v in LOSSES))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--min-coverage", type=float, default=None,
                        help="run with another PhysicsStage1 MIN_COVERAGE (a code variant)")
    parser.add_argument("--chunk-s", type=float, default=CHUNK_S, help="transport chunk (s)")
    parser.add_argument("--report", action="store_true", help="only rebuild the report")
    args = parser.parse_args(argv)
    _CHUNK["s"] = args.chunk_s
    if args.min_coverage is not None:
        from pm_monitor.core.condition import stage
        stage.MIN_COVERAGE = args.min_coverage
    if not args.report:
        if not args.variant:
            parser.error("--variant names the run")
        RUNS.mkdir(parents=True, exist_ok=True)
        store = RUNS / f"{args.variant}.json"
        old = json.loads(store.read_text())["results"] if store.exists() else {}
        store.write_text(json.dumps({"code": args.code or args.variant, "order": args.order,
                                     "results": old}, indent=1))
        run(args.only.split(","), [float(v) for v in args.losses.split(",")], args.seeds, store)
    print(report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
