"""A recorded real machine treated as a brand-new asset: no trained model, no reference.

python -m pm_monitor.demo.run_new_asset_demo [--bearing Bearing3_3] [--speed 1] [--out DIR]

The real-data plan (pm_monitor.launch_plan.real_data_plan: replay_node + monitor_node) playing
only what this machine has (the bearing's two accelerometers: no microphone, no camera), with
the monitor running the shipped physics model set (models/physics) on an asset description
written for the bearing and an EMPTY reference dir: the monitor commissions from the
recording's first snapshots (HealthStatus commissioning_progress, "commissioning ..." notes),
then judges the rest of the life against that reference and raises alarms whose Alert summary
carries the physics evidence. FEMTO snapshots are played back to back (0.1 s each): the asset
file sets one snapshot per window (`analysis: {window_s: 0.1, hop_s: 0.1}`; the shipped 1 s
window would join ten snapshots taken 10 s apart, which is not one signal), and its
commissioning is 6 s of stream = the first 60 snapshots = the first 10 minutes of its life,
as in the any-machine evaluation (docs/sections/any_machine.md).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rclpy
import yaml

from pm_monitor.core.types import HealthState
from pm_monitor.datasets import femto
from pm_monitor.demo.run_demo import prepare_output, record_run
from pm_monitor.demo.run_real_demo import SNAPSHOT_S, START_STAMP_S
from pm_monitor.launch_plan import real_data_plan, share_dir
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.recorder_node import RunRecorder

# 60 snapshots of 0.1 s back to back: the bearing's first 10 min of life (the evaluation's)
COMMISSIONING_STREAM_S = 6.0


def write_asset_file(bearing: str, out_dir: Path) -> Path:
    """The PRONOSTIA asset description (config/assets/femto_bearing.yaml) as this bearing's
    own asset: its id, one snapshot per analysis window, commissioning on the first 60
    snapshots of the back-to-back replay. What a user writes for their machine."""
    asset = yaml.safe_load((share_dir() / "config" / "assets" / "femto_bearing.yaml")
                           .read_text())
    asset["asset"]["id"] = f"femto_{bearing}"
    asset["asset"]["commissioning"] = {"duration_s": COMMISSIONING_STREAM_S}
    asset["asset"]["analysis"] = {"window_s": SNAPSHOT_S, "hop_s": SNAPSHOT_S}
    path = out_dir / f"asset_femto_{bearing}.yaml"
    path.write_text(yaml.safe_dump(asset, sort_keys=False))
    return path


def life_fraction(stamp_ns: int, bearing: femto.FemtoBearing) -> float:
    """Fraction of life used at the snapshot a window ends on."""
    j = round((stamp_ns / 1e9 - START_STAMP_S) / SNAPSHOT_S) - 1
    j = min(max(j, 0), bearing.n_snapshots - 1)
    return float(bearing.t_s[j] / bearing.t_s[-1])


def summarise(recorder: RunRecorder, bearing: femto.FemtoBearing) -> dict:
    """Where commissioning finished, the first alarm and its evidence, per-window series."""
    rows = [(conv.stamp_to_ns(m.header.stamp), int(m.state), float(m.anomaly_score),
             float(m.anomaly_threshold), float(m.commissioning_progress),
             m.commissioning_needed > 0) for m in recorder.health]
    done = next((i for i, r in enumerate(rows) if not r[5]), None)
    raised = [a for a in recorder.alerts if a.event == a.EVENT_RAISED]
    first = raised[0] if raised else None
    summary = {
        "windows": len(rows), "commissioning_windows": sum(r[5] for r in rows),
        "commissioning_done_window": done,
        "commissioning_done_life_fraction": (life_fraction(rows[done][0], bearing)
                                             if done is not None else None),
        "commissioning_done_life_min": (float(bearing.t_s[round(
            (rows[done][0] / 1e9 - START_STAMP_S) / SNAPSHOT_S) - 1]) / 60.0
            if done is not None else None),
        "max_commissioning_progress": max((r[4] for r in rows), default=0.0),
        "alarms_raised": len(raised),
        # the replay plays only what the asset has: no input may be reported missing
        "windows_with_missing_inputs": sum(bool(m.modalities_missing) for m in recorder.health),
        "inputs_used": sorted({name for m in recorder.health for name in m.modalities_used}),
        "first_alarm_life_fraction": (life_fraction(conv.stamp_to_ns(first.header.stamp),
                                                    bearing) if first else None),
        "first_alarm_evidence": first.summary if first else None,
    }
    series = {"life": np.array([life_fraction(r[0], bearing) for r in rows]),
              "state": np.array([r[1] for r in rows]),
              "score": np.array([r[2] for r in rows]),
              "threshold": np.array([r[3] for r in rows]),
              "commissioning": np.array([r[5] for r in rows], dtype=bool)}
    return {"summary": summary, "series": series}


def plot(series: dict, summary: dict, bearing: str, path: Path) -> None:
    fig, (ax_state, ax_score) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    life, decided = series["life"], ~series["commissioning"]
    for ax in (ax_state, ax_score):
        if series["commissioning"].any():
            ax.axvspan(0.0, life[series["commissioning"]].max(), color="0.85",
                       label="commissioning (learning the reference)")
        if summary["first_alarm_life_fraction"] is not None:
            ax.axvline(summary["first_alarm_life_fraction"], color="tab:red", ls="--",
                       label="first alarm")
        ax.grid(alpha=0.3)
    ax_state.plot(life[decided], series["state"][decided], ".", color="tab:red", ms=3,
                  label="monitor state (physics)")
    ax_state.set_yticks(range(4), [s.label for s in HealthState])
    ax_state.set_title(f"FEMTO {bearing} as a brand-new asset: commissioning, then physics")
    ax_state.legend(loc="upper left", fontsize=8)
    ax_score.semilogy(life[decided], np.maximum(series["score"][decided], 1e-3),
                      color="tab:blue", lw=0.8, label="health indicator (anomaly score)")
    ax_score.semilogy(life[decided], np.maximum(series["threshold"][decided], 1e-3),
                      color="tab:orange", lw=1.2, label="threshold")
    ax_score.set_xlabel("fraction of life used (t / end of record)")
    ax_score.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(bearing_name: str, speed: float, out_dir: Path, duration_s: float = 0.0) -> dict:
    """duration_s > 0: stop the replay after that much stream time (a slice of the life)."""
    bearing = femto.load_bearing(bearing_name)
    life_s = bearing.n_snapshots * SNAPSHOT_S
    duration_s = min(duration_s, life_s) if duration_s > 0 else life_s
    log_dir, alert_log = prepare_output(out_dir)
    reference_dir = out_dir / "reference"
    shutil.rmtree(reference_dir, ignore_errors=True)  # brand new: nothing learned yet
    reference_dir.mkdir()
    asset_file = write_asset_file(bearing_name, out_dir)
    replay_spec, monitor_spec = real_data_plan(
        bearing_name, speed, START_STAMP_S, duration_s, wait_for_subscribers=True,
        monitor_parameters={"alert_log_path": str(alert_log),
                            "model_dir": str(share_dir() / "models" / "physics"),
                            "asset_file": str(asset_file.resolve()),
                            "reference_dir": str(reference_dir.resolve())},
        datasets="femto")  # only the streams this machine has
    recorder, codes, _ = record_run(
        monitor_spec, "replay", replay_spec, log_dir, duration_s / speed,
        f"new asset: FEMTO {bearing_name} through the physics set with an empty reference, "
        f"{duration_s:.0f} s of stream at {speed:g}x (~{duration_s / speed:.0f} s wall)")
    recorder.epoch_ns = round(START_STAMP_S * 1e9)
    recorder.write(out_dir, f"new asset: FEMTO {bearing_name}, physics set, commissioned live")
    result = summarise(recorder, bearing)
    summary = {"bearing": bearing_name, "speed": speed, "stream_s": duration_s,
               "commissioning_stream_s": COMMISSIONING_STREAM_S, **result["summary"],
               "exit_codes": codes}
    if result["series"]["life"].size:
        plot(result["series"], summary, bearing_name, out_dir / "new_asset_timeline.png")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    recorder.destroy_node()
    rclpy.try_shutdown()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bearing", default="Bearing3_3", choices=femto.ALL_BEARINGS)
    parser.add_argument("--speed", type=float, default=1.0, help="replay s per wall s")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="stream seconds to replay (0: the whole life)")
    parser.add_argument("--out", type=Path, default=Path("output/any_machine_demo"))
    args = parser.parse_args(argv)
    summary = run(args.bearing, args.speed, args.out, args.duration)
    print(json.dumps(summary, indent=2, default=str))
    print(f"outputs in {args.out.resolve()}: alerts.jsonl, new_asset_timeline.png, "
          "summary.json, report/")
    commissioned = summary["commissioning_done_window"] is not None
    return 0 if summary["exit_codes"].get("replay") == 0 and commissioned else 1


if __name__ == "__main__":
    sys.exit(main())
