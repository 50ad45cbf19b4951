"""Recorded real data through the monitor running the real-data profile, as ROS processes.

python -m pm_monitor.demo.run_real_demo [--bearing Bearing1_3] [--speed 2] [--out DIR]

Starts exactly what launch/real_data.launch.py starts (replay_node + monitor_node with
models/real_data) and records the monitor's outputs like the rig demo (alerts, explanations,
heatmaps, MCAP recording, HTML report). The truth is FEMTO's documented state rule on the
fraction of life used (end of life = the last snapshot; Normal < 0.6 <= Pre-Warning < 0.8 <=
Warning < 0.95 <= Failure, as the health-state model was trained): each window is one
snapshot, so every ~/health message is scored against its snapshot's state. The default
bearing, Bearing1_3, was the shipped model's held-out test bearing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rclpy

from pm_monitor.core.types import HealthState
from pm_monitor.datasets import femto
from pm_monitor.demo.run_demo import prepare_output, record_run
from pm_monitor.launch_plan import REAL_DATA_START_S, real_data_plan
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.recorder_node import RunRecorder

START_STAMP_S = REAL_DATA_START_S  # snapshot j ends at START + (j + 1) x 0.1 s
SNAPSHOT_S = femto.SNAPSHOT_SAMPLES / 25600.0
STATE_BOUNDS = (0.6, 0.8, 0.95)  # life fraction, the femto_states training rule


def true_states(bearing: femto.FemtoBearing) -> np.ndarray:
    """(n_snapshots,) HealthState values of the FEMTO rule on t / t_end."""
    fraction = bearing.t_s / bearing.t_s[-1]
    return np.searchsorted(np.asarray(STATE_BOUNDS), fraction, side="right")


def score(recorder: RunRecorder, bearing: femto.FemtoBearing) -> dict:
    """Per-window state accuracy / macro-F1 against the rule, false alarms, first alarm."""
    from pm_monitor.report import metrics

    truth_all = true_states(bearing)
    rows = []
    for msg in recorder.health:
        end_s = conv.stamp_to_ns(msg.header.stamp) / 1e9 - START_STAMP_S
        j = round(end_s / SNAPSHOT_S) - 1
        if 0 <= j < len(truth_all):
            rows.append((j, int(msg.state), bool(msg.anomalous), float(msg.anomaly_score),
                         float(msg.anomaly_threshold), msg.commissioning_needed > 0))
    if not rows:
        return {"windows": 0}
    columns = (np.array(c) for c in zip(*rows, strict=True))
    j, state, anomalous, scores, thresholds, commissioning = columns
    decided = ~commissioning
    truth = truth_all[j]
    life = bearing.t_s[j] / bearing.t_s[-1]
    raised = [conv.stamp_to_ns(a.header.stamp) / 1e9 - START_STAMP_S
              for a in recorder.alerts if a.event == a.EVENT_RAISED]
    first_alarm = (bearing.t_s[min(round(raised[0] / SNAPSHOT_S) - 1, len(truth_all) - 1)]
                   / bearing.t_s[-1]) if raised else None
    normal = decided & (truth == HealthState.NORMAL)
    return {
        "windows": len(rows), "snapshots": len(truth_all),
        "windows_decided": int(decided.sum()), "commissioning_windows": int(commissioning.sum()),
        "state_accuracy": float(np.mean(state[decided] == truth[decided])),
        "state_macro_f1": float(metrics.macro_f1(
            metrics.confusion_matrix(truth[decided], state[decided], 4))),
        "not_normal_called_in_normal_life": float(np.mean(state[normal] != 0)),
        "anomalous_in_normal_life": float(np.mean(anomalous[normal])),
        "anomalous_after_0.95_life": float(np.mean(anomalous[decided & (life >= 0.95)])),
        "alarms_raised": len(raised), "first_alarm_life_fraction": first_alarm,
        "_series": {"life": life, "state": state, "truth": truth, "score": scores,
                    "threshold": thresholds, "decided": decided},
    }


def summary_markdown(summary: dict) -> str:
    femto_part = summary["femto"]
    lines = [f"# Real data through the monitor: FEMTO {summary['bearing']} + thermal motor, "
             "NEU, MIMII fan", "",
             "Each window is one FEMTO snapshot, scored against the life-fraction rule "
             "(Normal < 0.6 <= Pre-Warning < 0.8 <= Warning < 0.95 <= Failure).", "",
             "| measure | value |", "|---|---|"]
    for key, value in femto_part.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        lines.append(f"| {key.replace('_', ' ')} | {shown} |")
    lines += ["", f"Alerts raised: {summary.get('alerts_raised')}, alert messages: "
              f"{summary.get('alert_messages')}, explanations: {summary.get('explanations')}, "
              f"heatmaps: {summary.get('heatmaps_received')}."]
    return "\n".join(lines) + "\n"


def plot(series: dict, bearing: str, path: Path) -> None:
    fig, (ax_state, ax_score) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    life = series["life"]
    ax_state.step(life, series["truth"], where="post", color="k", lw=2, label="truth (life rule)")
    ax_state.plot(life[series["decided"]], series["state"][series["decided"]], ".",
                  color="tab:red", ms=3, alpha=0.5, label="monitor (Stage 1)")
    ax_state.set_yticks(range(4), [s.label for s in HealthState])
    ax_state.set_title(f"FEMTO {bearing} through the live monitor (real-data profile)")
    ax_state.legend(loc="upper left")
    ax_state.grid(alpha=0.3)
    ax_score.semilogy(life, series["score"], color="tab:blue", lw=0.8, label="anomaly score")
    ax_score.semilogy(life, series["threshold"], color="tab:orange", lw=1.2,
                      label="dynamic threshold")
    ax_score.set_xlabel("fraction of life used (t / end of record)")
    ax_score.set_ylabel("reconstruction error")
    ax_score.legend(loc="upper left")
    ax_score.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(bearing_name: str, speed: float, out_dir: Path) -> dict:
    bearing = femto.load_bearing(bearing_name)
    duration_s = bearing.n_snapshots * SNAPSHOT_S
    log_dir, alert_log = prepare_output(out_dir)
    replay_spec, monitor_spec = real_data_plan(
        bearing_name, speed, START_STAMP_S, duration_s, wait_for_subscribers=True,
        monitor_parameters={"alert_log_path": str(alert_log)})
    recorder, codes, _ = record_run(
        monitor_spec, "replay", replay_spec, log_dir, duration_s / speed,
        f"replaying {bearing_name} ({bearing.n_snapshots} snapshots back to back, "
        f"{duration_s:.0f} s) + thermal motor, NEU, MIMII fan at {speed:g}x "
        f"(~{duration_s / speed:.0f} s wall)")
    recorder.epoch_ns = round(START_STAMP_S * 1e9)
    summary = recorder.write(out_dir, f"real data: FEMTO {bearing_name} + thermal motor, "
                                      "NEU, MIMII fan (different machines on one timeline)")
    scored = score(recorder, bearing)
    series = scored.pop("_series", None)
    if series is not None:
        plot(series, bearing_name, out_dir / "femto_states_timeline.png")
    # the recorder's own summary scores against the rig's ground truth, which a replay has
    # not: keep what it counted, score against the FEMTO rule instead
    kept = ("alerts_raised", "alert_messages", "heatmaps_received", "camera_heatmaps_saved",
            "explanations",
            "recording", "recorded_messages", "report", "monitor_diagnostics")
    summary = {key: summary[key] for key in kept if key in summary}
    summary.update({"femto": scored, "bearing": bearing_name, "speed": speed,
                    "exit_codes": codes})
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out_dir / "summary.md").write_text(summary_markdown(summary))
    recorder.destroy_node()
    rclpy.try_shutdown()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bearing", default="Bearing1_3", choices=femto.ALL_BEARINGS)
    parser.add_argument("--speed", type=float, default=2.0, help="replay s per wall s")
    parser.add_argument("--out", type=Path, default=Path("output/real_data"))
    args = parser.parse_args(argv)
    summary = run(args.bearing, args.speed, args.out)
    print(json.dumps(summary["femto"], indent=2))
    print(f"outputs in {args.out.resolve()}: alerts.jsonl, explanations.jsonl, heatmaps/, "
          "femto_states_timeline.png, report/, summary.json")
    return 0 if summary["exit_codes"].get("replay") == 0 and summary["femto"]["windows"] else 1


if __name__ == "__main__":
    sys.exit(main())
