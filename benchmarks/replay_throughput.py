"""How fast the real-data replay can go (prints a table and writes JSON; not a test).

    . tools/ros_env.sh && python benchmarks/replay_throughput.py [--speeds 10 100 1000 10000]

For each data set (default selection):
  * core: ``replay_messages`` alone (decode, slice, stamp) over the whole selection (CWRU: its
    10 s record looped to 60 s; images: one every 0.1 s): data seconds per wall second, the
    speed-factor ceiling of the pure core;
  * node: ``scripts/replay_node`` as its own process at each speed factor for about 2 s of
    wall time (``--wall-s``), and a listener in this process on the monitor's QoS (one
    executor thread, a trivial callback: what any subscriber costs at least). Reported: the
    speed reached (stamp span / wall span of the arrivals) and received / published messages
    (best effort: a subscriber that falls behind loses messages, as the monitor would).
"Data s" counts seconds that hold samples or frames (FEMTO: 0.1 s per snapshot); "replay s"
is the span of the stamps (FEMTO: one snapshot every 10-20 s of replay time).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pm_monitor.replay import (
    ChunkPayload,
    ReplayConfig,
    Selection,
    SourceOptions,
    build_source,
    replay_messages,
)
from pm_monitor.replay.datasets import DATASETS

ROOT = Path(__file__).resolve().parents[1]
START_NS = 1_800_000_000 * 10**9
FRAME_PERIOD_S = 0.1  # image data sets: 10 frames per replay second (a camera-like rate)
OUT = ROOT / "results" / "replay" / "throughput.json"


def data_seconds(messages) -> float:
    total = 0.0
    for m in messages:
        p = m.payload
        total += (len(p.samples) / p.sample_rate if isinstance(p, ChunkPayload)
                  else FRAME_PERIOD_S)
    return total


CORE_LOOP_S = {"cwru": 60.0}  # replay time for selections shorter than a minute


def core_run(dataset: str) -> dict:
    source = build_source(dataset, Selection(), SourceOptions(frame_period_s=FRAME_PERIOD_S))
    loop_s = CORE_LOOP_S.get(dataset, 0.0)
    config = ReplayConfig(START_NS, loop=loop_s > 0, duration_s=loop_s)
    start = time.perf_counter()
    messages = list(replay_messages([source], config))
    wall = time.perf_counter() - start
    span = (messages[-1].stamp_ns - START_NS) / 1e9
    data = data_seconds(messages)
    return {"messages": len(messages), "wall_s": wall, "replay_s": span, "data_s": data,
            "messages_per_s": len(messages) / wall, "data_s_per_wall_s": data / wall,
            "replay_s_per_wall_s": span / wall}


def node_run(dataset: str, speed: float, seconds: float, chunk_s: float = 0.02) -> dict:
    """The replay node as its own process (scripts/replay_node), a listener here."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from pm_monitor.msg import SensorChunk
    from pm_monitor.nodes import conversions as conv
    from pm_monitor.nodes.qos import CHUNK_QOS

    source = build_source(dataset, Selection(), SourceOptions(frame_period_s=FRAME_PERIOD_S))
    expected = sum(1 for _ in replay_messages(
        [source], ReplayConfig(START_NS, chunk_s=chunk_s, loop=True, duration_s=seconds)))
    topic = {"accel": "accel", "mic": "mic", "thermal": "thermal/image_raw",
             "camera": "camera/image_raw"}[source.stream]
    msg_type = SensorChunk if source.stream in ("accel", "mic") else Image
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    listener = Node("bench_listener", context=context)
    arrivals: list[tuple[float, int]] = []
    listener.create_subscription(
        msg_type, topic,
        lambda m: arrivals.append((time.monotonic(), conv.stamp_to_ns(m.header.stamp))),
        CHUNK_QOS if msg_type is SensorChunk else qos_profile_sensor_data)
    executor.add_node(listener)
    params = {"dataset": dataset, "speed_factor": speed, "duration_s": seconds, "loop": True,
              "chunk_s": chunk_s,
              "frame_period_s": FRAME_PERIOD_S, "wait_for_subscribers": True,
              "publish_clock": False}
    cmd = [sys.executable, str(ROOT / "scripts" / "replay_node"), "--ros-args"]
    for key, value in params.items():
        cmd += ["-p", f"{key}:={str(value).lower() if isinstance(value, bool) else value}"]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}")
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + seconds / speed + 30.0
        while process.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        for _ in range(20):  # whatever is still queued
            executor.spin_once(timeout_sec=0.01)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        executor.shutdown()
        listener.destroy_node()
        rclpy.try_shutdown(context=context)
    if len(arrivals) < 2:
        return {"speed_factor": speed, "replay_s": seconds, "published": expected,
                "received": len(arrivals), "speed_reached": 0.0}
    wall = arrivals[-1][0] - arrivals[0][0]
    span = (arrivals[-1][1] - arrivals[0][1]) / 1e9
    return {"speed_factor": speed, "replay_s": seconds, "published": expected,
            "received": len(arrivals), "wall_s": wall,
            "speed_reached": span / wall if wall > 0 else float("inf")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", type=float, nargs="+", default=[10.0, 100.0, 1000.0, 1e4])
    parser.add_argument("--wall-s", type=float, default=2.0, help="wall time per node run")
    parser.add_argument("--chunk-s", type=float, default=0.02, help="SensorChunk duration")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--core-only", action="store_true", help="skip the rclpy part")
    args = parser.parse_args()
    results = {}
    for dataset in tqdm(args.datasets, desc="data sets"):
        core = core_run(dataset)
        results[dataset] = {"core": core, "node": []}
        if args.core_only:
            continue
        for speed in args.speeds:
            seconds = min(core["replay_s"], args.wall_s * speed)
            results[dataset]["node"].append(node_run(dataset, speed, seconds, args.chunk_s))
    print("\ncore: whole default selection (cwru looped to 60 s; images every "
          f"{FRAME_PERIOD_S} s)")
    print(f"{'data set':14} {'msgs':>6} {'data s':>7} {'replay s':>9} {'wall s':>7} "
          f"{'data x':>8}")
    for name, r in results.items():
        c = r["core"]
        print(f"{name:14} {c['messages']:>6} {c['data_s']:>7.1f} {c['replay_s']:>9.1f} "
              f"{c['wall_s']:>7.2f} {c['data_s_per_wall_s']:>7.0f}x")
    if not args.core_only:
        print(f"\nreplay node process -> listener process, about {args.wall_s:.0f} s wall "
              f"per run, chunk_s {args.chunk_s}")
        print(f"{'data set':14} {'speed':>7} {'reached':>8} {'received/published':>19}")
        for name, r in results.items():
            for n in r["node"]:
                print(f"{name:14} {n['speed_factor']:>6.0f}x {n['speed_reached']:>7.0f}x "
                      f"{n['received']:>9}/{n['published']:<9}")
    out = OUT if args.chunk_s == 0.02 and args.datasets == list(DATASETS) else OUT.with_name(
        f"throughput_chunk{args.chunk_s:g}_{'_'.join(args.datasets)}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"frame_period_s": FRAME_PERIOD_S, "chunk_s": args.chunk_s,
                               "load_average": os.getloadavg(), "results": results}, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
