"""Build an asset's commissioning reference from a recording, exactly as the live node would.

    python -m pm_monitor.commission <recording.mcap | bag folder> --asset pump_7 \
        [--asset-file config/assets/pump_7.yaml] [--topic /pm/accel] [--mic-topic /pm/mic] \
        [--reference-dir ~/.ros/pm_monitor/references] [--model-dir models/physics] [--reset]

Reads the SensorChunk messages of `--topic` in log-time order and feeds them, with their header
stamps, through the same pipeline the monitor node runs (MonitorPipeline: input checks, unit
conversion, the synchroniser's windows, the physics model set); the reference is stored
(atomically) when commissioning completes, or kept partial (resumable on the next recording or
the robot's next visit) when the recording is too short. An asset whose description declares
a microphone learns its acoustic reference from `--mic-topic` the same way, beside it; an
asset watched by sound alone (`accelerometer: {enabled: false}`) learns from `--mic-topic` only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pm_monitor.core.alarms import AlarmManager
from pm_monitor.core.condition.acoustic import ACOUSTIC_PART
from pm_monitor.core.condition.reference import ReferenceStore, default_reference_dir
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.pipeline import InputRejectedError, offline_pipeline
from pm_monitor.core.recording.mcap_bag import read_messages
from pm_monitor.core.types import ACCEL, MIC
from pm_monitor.launch_plan import share_dir

PHYSICS_MODEL_DIR = share_dir() / "models" / "physics"  # installed share, else the source tree


def commission(recording: str | Path, asset_file: str | Path, reference_dir: str | Path,
               topic: str = "/pm/accel", model_dir: str | Path = PHYSICS_MODEL_DIR,
               reset: bool = False, mic_topic: str = "/pm/mic") -> PhysicsStage1:
    models = load_model_set(model_dir, asset_file=str(asset_file),
                            reference_dir=str(reference_dir))
    stage = models.cascade.stage1
    if not isinstance(stage, PhysicsStage1):
        raise SystemExit(f"{model_dir} is not a physics model set")
    if reset:
        stage.reset_commissioning()
    pipeline = offline_pipeline(models, AlarmManager(stage.asset.asset_id))
    inputs = {topic: ACCEL} if stage.asset.accelerometer else {}
    if stage.asset.microphone and mic_topic:
        inputs[mic_topic] = MIC
    for message in read_messages(recording, list(inputs)):
        msg = message.decode()
        stamp_ns = int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)
        try:
            pipeline.on_chunk(inputs[message.topic], stamp_ns, float(msg.sample_rate),
                              list(msg.channel_names), int(msg.first_sample_index),
                              msg.samples, unit=msg.unit)
        except InputRejectedError as err:
            print(f"skipped a chunk: {err}", file=sys.stderr)
        if stage.commissioned():
            break
    return stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--asset", required=True, help="asset id")
    parser.add_argument("--asset-file", help="default: config/assets/<asset>.yaml (here, "
                        "else the installed one)")
    parser.add_argument("--topic", default="/pm/accel")
    parser.add_argument("--mic-topic", default="/pm/mic", help="the microphone's SensorChunks "
                        "(used when the asset declares a microphone)")
    parser.add_argument("--reference-dir", default="", help="default: the node's, "
                        "$ROS_HOME/pm_monitor/references")
    parser.add_argument("--model-dir", default=str(PHYSICS_MODEL_DIR))
    parser.add_argument("--reset", action="store_true", help="forget the stored reference first")
    args = parser.parse_args(argv)
    asset_file = args.asset_file or f"config/assets/{args.asset}.yaml"
    if not args.asset_file and not Path(asset_file).is_file():  # the installed copy
        asset_file = str(share_dir() / "config" / "assets" / f"{args.asset}.yaml")
    reference_dir = args.reference_dir or default_reference_dir()
    stage = commission(args.recording, asset_file, reference_dir, args.topic, args.model_dir,
                       args.reset, args.mic_topic)
    if stage.asset.asset_id != args.asset:
        print(f"--asset {args.asset} does not match {asset_file} (id {stage.asset.asset_id})",
              file=sys.stderr)
        return 2
    ref = stage.reference()
    if ref is None:
        sensor, where = (("accelerometer", args.topic) if stage.asset.accelerometer
                         else ("microphone", args.mic_topic))
        print(f"no usable {sensor} data on {where}", file=sys.stderr)
        return 1
    state = "complete" if ref.complete else "partial (resumes on the next recording or visit)"
    store = ReferenceStore(reference_dir)
    print(f"{ref.asset_id}: commissioning {state}, {ref.collected_s:.1f} of "
          f"{ref.required_s:.1f} s, {len(ref.rows)} windows at {ref.rate_hz:g} Hz on "
          f"{', '.join(ref.axes)}; "
          + (f"ISO velocity {ref.velocity_mm_s:.2f} mm/s; stored in {store.path(ref.asset_id)}"
             if stage.asset.accelerometer else "microphone only; stored in "
             f"{store.part(ACOUSTIC_PART).path(ref.asset_id)}"))
    mic = stage.acoustic_reference()
    if stage.asset.microphone and stage.asset.accelerometer:
        print(f"{ref.asset_id} microphone: " + ("no usable data on " + args.mic_topic
              if mic is None else f"{'complete' if mic.complete else 'partial'}, "
              f"{mic.collected_s:.1f} of {mic.required_s:.1f} s at {mic.rate_hz:g} Hz"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
