"""Build an asset's commissioning reference from a recording, exactly as the live node would.

    python -m pm_monitor.commission <recording.mcap | bag folder> --asset pump_7 \
        [--asset-file config/assets/pump_7.yaml] [--topic /pm/accel] \
        [--store ~/.local/share/pm_monitor/references] [--window-s 1.0] [--reset]

Reads the SensorChunk messages of `--topic` in log-time order and feeds them to the same
`LiveAssetMonitor` the monitor node uses; the reference is written to the store (atomically)
when commissioning completes, or kept partial (resumable) when the recording is too short.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pm_monitor.core.assets.description import load
from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.condition.live import DEFAULT_WINDOW_S, LiveAssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.recording.mcap_bag import read_messages

DEFAULT_STORE = Path.home() / ".local/share/pm_monitor/references"


def commission(recording: str | Path, asset_file: str | Path, store: str | Path,
               topic: str = "/pm/accel", window_s: float = DEFAULT_WINDOW_S,
               reset: bool = False, asset_id: str | None = None) -> LiveAssetMonitor:
    asset = load(asset_file)
    if asset_id is not None and asset_id != asset.asset_id:
        raise SystemExit(f"--asset {asset_id} does not match {asset_file} (id {asset.asset_id})")
    live = LiveAssetMonitor(asset, ReferenceStore(store), window_s)
    if reset:
        live.reset()
    for message in read_messages(recording, [topic]):
        msg = message.decode()
        try:
            frames = decode_chunk(msg.samples, list(msg.channel_names), msg.sample_rate)
        except ChunkDecodeError as exc:
            print(f"skipped a chunk: {exc}", file=sys.stderr)
            continue
        live.push(frames, list(msg.channel_names), msg.sample_rate, msg.unit)
        if live.refusal:
            raise SystemExit(f"cannot commission from {topic}: {live.refusal}")
        if live.monitor is not None and live.monitor.commissioned:
            break
    return live


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--asset", required=True, help="asset id")
    parser.add_argument("--asset-file", help="default: config/assets/<asset>.yaml")
    parser.add_argument("--topic", default="/pm/accel")
    parser.add_argument("--store", default=str(DEFAULT_STORE))
    parser.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S)
    parser.add_argument("--reset", action="store_true", help="forget the stored reference first")
    args = parser.parse_args(argv)
    asset_file = args.asset_file or f"config/assets/{args.asset}.yaml"
    live = commission(args.recording, asset_file, args.store, args.topic, args.window_s,
                      args.reset, args.asset)
    ref = live.monitor.reference if live.monitor is not None else None
    if ref is None:
        print("no accelerometer data on the topic", file=sys.stderr)
        return 1
    state = "complete" if ref.complete else "partial (resumes on the next recording or visit)"
    print(f"{ref.asset_id}: commissioning {state}, {ref.collected_s:.1f} of "
          f"{ref.required_s:.1f} s, {len(ref.rows)} windows at {ref.rate_hz:g} Hz on "
          f"{', '.join(ref.axes)}; ISO velocity {ref.velocity_mm_s:.2f} mm/s; stored in "
          f"{ReferenceStore(args.store).path(ref.asset_id)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
