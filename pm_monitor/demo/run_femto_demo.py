"""Replay a real FEMTO / PRONOSTIA bearing through rul_node and watch its RUL fall.

python -m pm_monitor.demo.run_femto_demo [--bearing Bearing3_3] [--speed 100] [--out DIR]

Starts exactly what launch/femto_rul.launch.py starts (replay_node + rul_node, as separate
ROS processes), records every RulEstimate and leaves in the output folder: rul.jsonl, a
timeline PNG (the population-prior part, the detected degradation onset and the
condition-based part, each with its 80 % interval, against the true remaining life; the health
index below) and a summary (error and interval coverage of the valid estimates, per evidence
kind). The truth is the end-of-record label of the FEMTO loader (time left to the last
snapshot). The shipped model was fitted on all 11 bearings, so the bearing is not held out
here: the held-out numbers come from pm_monitor.evaluation.rul_evaluate.
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
from rclpy.node import Node

from pm_monitor.datasets import femto
from pm_monitor.demo.run_demo import play_to_end, spin_until, start_node, stop
from pm_monitor.launch_plan import femto_rul_plan
from pm_monitor.msg import RulEstimate
from pm_monitor.nodes import conversions as conv

START_STAMP_S = 1.7e9  # a fixed replay epoch, so the truth of each estimate is known


class RulRecorder(Node):
    def __init__(self) -> None:
        super().__init__("femto_demo_recorder")
        self.estimates: list[dict] = []
        self.create_subscription(RulEstimate, "/rul_node/rul", self._on_rul, 100)

    def _on_rul(self, msg: RulEstimate) -> None:
        self.estimates.append(conv.message_to_dict(msg)
                              | {"t_s": conv.stamp_to_ns(msg.header.stamp) / 1e9 - START_STAMP_S})


EVIDENCE_STYLE = {"population_prior": ("tab:gray", "population prior"),
                  "condition_based": ("tab:red", "condition-based")}


def _errors(estimates: list[dict], life_s: float) -> dict:
    t = np.array([e["t_s"] for e in estimates])
    truth = life_s - t
    rul, low, high = (np.array([e[k] for e in estimates])
                      for k in ("rul_s", "rul_lower_s", "rul_upper_s"))
    return {"estimates": len(estimates),
            "mae_s": float(np.mean(np.abs(rul - truth))),
            "mae_normalised": float(np.mean(np.abs(rul - truth)) / life_s),
            "interval_coverage": float(np.mean((low <= truth) & (truth <= high)))}


def summarise(estimates: list[dict], life_s: float) -> dict:
    """Errors of the valid estimates against the time left to the end of the record."""
    valid = [e for e in estimates if e["valid"]]
    summary = {"estimates": len(estimates), "valid_estimates": len(valid), "life_s": life_s}
    onsets = [e["onset_elapsed_s"] for e in estimates if e.get("onset_detected")]
    summary["onset_s"] = onsets[0] if onsets else None
    summary["onset_life_fraction"] = onsets[0] / life_s if onsets else None
    if valid:
        summary.update({k: v for k, v in _errors(valid, life_s).items() if k != "estimates"})
        summary["first_valid_at_life_fraction"] = float(valid[0]["t_s"] / life_s)
        summary["nominal_coverage"] = float(valid[0]["interval_coverage"])
        summary["point_kind"] = valid[0].get("point_kind", "")
        summary["by_evidence"] = {
            kind: _errors([e for e in valid if e.get("evidence_kind") == kind], life_s)
            for kind in EVIDENCE_STYLE
            if any(e.get("evidence_kind") == kind for e in valid)}
    return summary


def plot(estimates: list[dict], life_s: float, bearing: str, path: Path) -> None:
    fig, (ax_rul, ax_hi) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                                        gridspec_kw={"height_ratios": [3, 1]})
    t_all = np.array([e["t_s"] for e in estimates]) / 3600
    ax_rul.plot([0, life_s / 3600], [life_s / 3600, 0], "k--", label="true RUL (end of record)")
    for kind, (colour, label) in EVIDENCE_STYLE.items():
        part = [e for e in estimates if e["valid"] and e.get("evidence_kind") == kind]
        if not part:
            continue
        t = np.array([e["t_s"] for e in part]) / 3600
        rul, low, high = (np.array([e[k] for e in part]) / 3600
                          for k in ("rul_s", "rul_lower_s", "rul_upper_s"))
        ax_rul.fill_between(t, low, high, color=colour, alpha=0.15, step="mid",
                            label=f"{label}: {part[0]['interval_coverage']:.0%} interval")
        ax_rul.plot(t, rul, ".", color=colour, ms=3,
                    label=f"{label}: {part[0].get('point_kind') or 'point'}")
    onsets = [e["onset_elapsed_s"] for e in estimates if e.get("onset_detected")]
    if onsets:
        for ax in (ax_rul, ax_hi):
            ax.axvline(onsets[0] / 3600, color="tab:orange", lw=1.5)
        ax_rul.text(onsets[0] / 3600, life_s / 3600 * 1.2, " degradation onset",
                    color="tab:orange", va="top")
    invalid = [e for e in estimates if not e["valid"]]
    if invalid:
        ax_rul.plot(np.array([e["t_s"] for e in invalid]) / 3600, np.zeros(len(invalid)), "|",
                    color="k", label="not valid (not calibrated)")
    ax_rul.set_ylim(0, life_s / 3600 * 1.3)
    ax_rul.set_ylabel("remaining useful life (h)")
    ax_rul.set_title(f"FEMTO {bearing} replayed through rul_node: population prior until the "
                     "onset, condition-based after")
    ax_rul.legend(loc="lower left", fontsize=8)
    ax_rul.grid(alpha=0.3)
    ax_hi.plot(t_all, [e["health_index"] for e in estimates], color="tab:green")
    ax_hi.set_ylim(-0.05, 1.05)
    ax_hi.set_ylabel("health index")
    ax_hi.set_xlabel("bearing operating time (h)")
    ax_hi.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(bearing: str, speed: float, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = out_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    life_s = femto.load_bearing(bearing).life_s
    replay_spec, rul_spec = femto_rul_plan(bearing, speed, START_STAMP_S,
                                           wait_for_subscribers=True)
    rclpy.init()
    recorder = RulRecorder()
    processes = {}
    try:
        processes["rul_node"] = start_node(rul_spec, log_dir)
        if not spin_until(recorder, lambda: recorder.count_publishers("/rul_node/rul") > 0
                          or processes["rul_node"].poll() is not None, 120.0):
            raise RuntimeError("rul_node did not come up within 120 s")
        print(f"replaying {bearing} ({life_s / 3600:.2f} h of life) at {speed:g}x "
              f"(~{life_s / speed:.0f} s wall)", flush=True)
        play_to_end(recorder, processes, "replay", replay_spec, log_dir, life_s / speed,
                    tail_s=2.0)  # the last estimates
    finally:
        codes = {name: stop(p) for name, p in processes.items()}
        recorder.destroy_node()
        rclpy.try_shutdown()
    with open(out_dir / "rul.jsonl", "w") as handle:
        for estimate in recorder.estimates:
            handle.write(json.dumps(estimate) + "\n")
    summary = summarise(recorder.estimates, life_s) | {"bearing": bearing, "speed": speed,
                                                       "exit_codes": codes}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(recorder.estimates, life_s, bearing, out_dir / "rul_timeline.png")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bearing", default="Bearing3_3", choices=femto.ALL_BEARINGS)
    parser.add_argument("--speed", type=float, default=100.0, help="replay s per wall s")
    parser.add_argument("--out", type=Path, default=Path("output/femto_rul"))
    args = parser.parse_args(argv)
    summary = run(args.bearing, args.speed, args.out)
    print(json.dumps(summary, indent=2))
    print(f"outputs in {args.out.resolve()}: rul.jsonl, rul_timeline.png, summary.json")
    return 0 if summary["exit_codes"].get("replay") == 0 and summary["estimates"] else 1


if __name__ == "__main__":
    sys.exit(main())
