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

import rclpy
from rclpy.node import Node

from pm_monitor.datasets import femto
from pm_monitor.demo.run_demo import play_to_end, spin_until, start_node, stop
from pm_monitor.launch_plan import femto_rul_plan
from pm_monitor.msg import RulEstimate
from pm_monitor.nodes import conversions as conv
from pm_monitor.report.rul_timeline import plot, summarise

START_STAMP_S = 1.7e9  # a fixed replay epoch, so the truth of each estimate is known


class RulRecorder(Node):
    def __init__(self) -> None:
        super().__init__("femto_demo_recorder")
        self.estimates: list[dict] = []
        self.create_subscription(RulEstimate, "/rul_node/rul", self._on_rul, 100)

    def _on_rul(self, msg: RulEstimate) -> None:
        self.estimates.append(conv.message_to_dict(msg)
                              | {"t_s": conv.stamp_to_ns(msg.header.stamp) / 1e9 - START_STAMP_S})


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
    plot(recorder.estimates, life_s, f"FEMTO {bearing} replayed through rul_node: population "
         "prior until the onset, condition-based after", out_dir / "rul_timeline.png",
         time_label="bearing operating time")
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
