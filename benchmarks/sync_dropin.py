"""The message_filters drop-in raced on recorded streams (a table).

    python benchmarks/sync_dropin.py [--messages 20000] [--out results/sync]

Streams (message stamps in arrival order): 4 inputs at 30 Hz aligned; +-10 ms jitter with
10 % lost; the same delivered out of order (0-60 ms latency); one input silent; one input
10x faster (300 Hz) with +-10 ms jitter and 10 % lost; the monitor's mix (camera 30 Hz,
thermal 9 Hz, two chunk streams at 50 Hz). Each is fed through
``pm_monitor.sync.ApproximateTimeSynchronizer`` (its ``add``, the way its Subscribers call
it, with messages carrying a header stamp) at queue 10 / 100 / 1000 and slop 20 / 50 ms, and,
when ``message_filters`` is importable, through its ``ApproximateTimeSynchronizer`` on the
same messages. Printed per run: messages/s, sets, mean spread (ms), sets per 1,000 messages.

message_filters is not on PyPI and not among ../shared/tools/ros2-launch's wheels; where it
is missing the table holds our synchroniser only, and says so.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pm_monitor.core.sync.approximate_time import ApproximateTimeMatcher
from pm_monitor.sync import ApproximateTimeSynchronizer

try:
    import message_filters  # type: ignore[import-not-found]
except ImportError:
    message_filters = None

NS = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * NS
PERIOD = NS // 30


def streams(n: int, seed: int = 0) -> dict[str, list[tuple[int, int]]]:
    """(input, stamp_ns) in arrival order, about n messages each."""
    rng = random.Random(seed)
    frames = n // 4

    def periodic(jitter_ms: int, drop: float, latency_ms: tuple[int, int], fast: int = 1):
        events = []
        for k in range(frames if fast == 1 else frames * 4 // (3 + fast)):
            for i in range(4):
                for r in range(fast if i == 0 else 1):
                    if rng.random() < drop:
                        continue
                    stamp = T0 + k * PERIOD + r * PERIOD // fast
                    stamp += rng.randint(-jitter_ms, jitter_ms) * MS if jitter_ms else 0
                    events.append((stamp + rng.randint(*latency_ms) * MS, i, stamp))
        events.sort()
        return [(i, s) for _, i, s in events]

    mix = []
    for i, hz in enumerate((30.0, 9.0, 50.0, 50.0)):
        for k in range(int(n / 4 * hz / 30)):
            stamp = T0 + round(k * NS / hz) + rng.randint(-2, 2) * MS
            mix.append((stamp + rng.randint(1, 30) * MS, i, stamp))
    mix.sort()
    return {
        "aligned": periodic(0, 0.0, (0, 0)),
        "jitter 10 ms, 10% lost": periodic(10, 0.1, (0, 5)),
        "out of order (0-60 ms latency)": periodic(10, 0.1, (0, 60)),
        "one input silent": [(k % 3, T0 + (k // 3) * PERIOD) for k in range(n)],
        "one input 10x faster": periodic(10, 0.1, (0, 5), fast=10),
        "monitor mix": [(i, s) for _, i, s in mix],
    }


def message(stamp_ns: int) -> SimpleNamespace:
    sec, nanosec = divmod(stamp_ns, NS)
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec)))


class _Input:
    """A filter the synchronisers connect to (registerCallback), fed by hand."""

    def __init__(self) -> None:
        self.callbacks: dict[int, tuple] = {}

    def registerCallback(self, cb, *args):  # noqa: N802
        self.callbacks[len(self.callbacks)] = (cb, args)
        return len(self.callbacks) - 1


class CoreMatcher:
    """The core matcher alone behind the same add(): what the ROS-facing wrapper costs."""

    def __init__(self, inputs, queue: int, slop: float) -> None:
        self._matcher = ApproximateTimeMatcher(
            len(inputs), queue, max_interval_ns=round(slop * NS), age_penalty=0.0,
            latency_budget_ns=round(slop * NS), rate_scaled_queues=True,
            max_reorder_ns=NS)
        self._callback = None

    def registerCallback(self, cb):  # noqa: N802
        self._callback = cb

    def add(self, msg, _queue, index: int) -> None:
        stamp = msg.header.stamp.sec * NS + msg.header.stamp.nanosec
        for matched in self._matcher.add(index, stamp, msg):
            self._callback(*(item for _, item in matched))


def race(make, arrivals: list[tuple[int, int]], queue: int, slop: float,
         budget_s: float) -> dict:
    inputs = [_Input() for _ in range(4)]
    sync = make(inputs, queue, slop)
    spreads: list[int] = []

    def on_set(*msgs):
        stamps = [m.header.stamp.sec * NS + m.header.stamp.nanosec for m in msgs]
        spreads.append(max(stamps) - min(stamps))

    sync.registerCallback(on_set)
    messages = [(i, message(s)) for i, s in arrivals]
    start = time.perf_counter()
    for i, msg in messages:
        sync.add(msg, None, i) if not hasattr(sync, "queues") else sync.add(msg, sync.queues[i], i)
        if time.perf_counter() - start > budget_s:
            break
    elapsed = time.perf_counter() - start
    fed = messages.index((i, msg)) + 1
    return {"messages": fed, "msg_per_s": fed / elapsed, "sets": len(spreads),
            "sets_per_1000": 1000 * len(spreads) / fed,
            "mean_spread_ms": float(np.mean(spreads)) / MS if spreads else None,
            "complete": fed == len(messages)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--budget-s", type=float, default=20.0,
                        help="stop a run after this long (message_filters can take minutes)")
    parser.add_argument("--out", default="results/sync")
    args = parser.parse_args()
    contenders = {"pm_monitor.sync": ApproximateTimeSynchronizer, "core matcher": CoreMatcher}
    if message_filters is not None:
        contenders["message_filters"] = message_filters.ApproximateTimeSynchronizer
        print("message_filters importable: racing both")
    else:
        print("message_filters is NOT importable here (not on PyPI, not in "
              "../shared/tools/ros2-launch): our synchroniser only")
    rows = []
    header = ("stream", "queue", "slop ms", "who", "msg/s", "sets", "sets/1k msg",
              "spread ms")
    print("{:<32}{:>6}{:>8}  {:<16}{:>12}{:>8}{:>12}{:>10}".format(*header))
    for name, arrivals in streams(args.messages).items():
        for queue in (10, 100, 1000):
            for slop in (0.02, 0.05):
                for who, make in contenders.items():
                    r = race(make, arrivals, queue, slop, args.budget_s)
                    rows.append({"stream": name, "queue": queue, "slop_s": slop, "who": who,
                                 **r})
                    spread = "-" if r["mean_spread_ms"] is None else f"{r['mean_spread_ms']:.2f}"
                    print("{:<32}{:>6}{:>8}  {:<16}{:>12,.0f}{:>8}{:>12.1f}{:>10}".format(
                        name, queue, int(slop * 1000), who, r["msg_per_s"], r["sets"],
                        r["sets_per_1000"], spread + ("" if r["complete"] else " (cut)")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dropin_race.json").write_text(json.dumps(
        {"message_filters_importable": message_filters is not None, "rows": rows}, indent=2))
    print(f"wrote {out / 'dropin_race.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
