"""`python -m pm_monitor.commission`: a reference from a recording, resumable when the recording
is too short (equality with the live node: test/nodes/test_monitor_physics.py)."""
import numpy as np

from pm_monitor.commission import main
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.recording.mcap_bag import McapRecorder
from pm_monitor.core.recording.typestore import typestore

RATE, CHUNK = 20000.0, 2000
ASSET = """asset:
  id: pump_7
  unit: g
  shaft_speed: {source: fixed, nominal_rpm: 1758.0}
  commissioning: {duration_s: 4.0}
  bearings:
    drive_end: {geometry: {n_balls: 9, ball_diameter_mm: 7.94, pitch_diameter_mm: 39.04}}
  axes: {DE: drive_end}
"""


def _record(folder, seconds: float, first_chunk: int = 0):
    rng = np.random.default_rng(first_chunk)
    types = typestore().types
    chunk_t = types["pm_monitor/msg/SensorChunk"]
    header_t, time_t = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    with McapRecorder(folder) as bag:
        for i in range(first_chunk, first_chunk + int(seconds * RATE) // CHUNK):
            t_ns = 1_700_000_000 * 10**9 + i * 100_000_000
            msg = chunk_t(header=header_t(stamp=time_t(sec=t_ns // 10**9, nanosec=t_ns % 10**9),
                                          frame_id="pump_7"), sample_rate=RATE,
                          channel_names=["DE"], unit="g", first_sample_index=i * CHUNK,
                          samples=(0.05 * rng.standard_normal(CHUNK)).astype(np.float32))
            bag.write_message("/pm/accel", msg, t_ns)
    return folder


def test_short_recordings_resume_until_the_reference_is_complete(tmp_path, capsys):
    asset = tmp_path / "pump_7.yaml"
    asset.write_text(ASSET)
    args = ["--asset", "pump_7", "--asset-file", str(asset), "--reference-dir",
            str(tmp_path / "refs")]
    assert main([str(_record(tmp_path / "visit1", 3.0)), *args]) == 0
    assert "partial" in capsys.readouterr().out
    first = ReferenceStore(tmp_path / "refs").load("pump_7")
    assert not first.complete and 0 < first.progress < 1
    # the robot's next visit: the stored windows are kept, commissioning completes
    assert main([str(_record(tmp_path / "visit2", 4.0, first_chunk=1000)), *args]) == 0
    assert "commissioning complete" in capsys.readouterr().out
    done = ReferenceStore(tmp_path / "refs").load("pump_7")
    assert done.complete and done.rows[: len(first.rows)] == first.rows


def test_an_asset_id_that_does_not_match_the_file_is_refused(tmp_path):
    asset = tmp_path / "pump_7.yaml"
    asset.write_text(ASSET)
    assert main([str(_record(tmp_path / "bag", 1.0)), "--asset", "fan_2", "--asset-file",
                 str(asset), "--reference-dir", str(tmp_path / "refs")]) == 2


MIC_RATE, MIC_CHUNK = 16000.0, 1600


def _record_with_mic(folder, seconds: float):
    """Accelerometer and microphone chunks of 0.1 s on the same clock, as a robot records."""
    rng = np.random.default_rng(7)
    types = typestore().types
    chunk_t = types["pm_monitor/msg/SensorChunk"]
    header_t, time_t = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    chunks = []
    with McapRecorder(folder) as bag:
        for i in range(int(seconds * 10)):
            t_ns = 1_700_000_000 * 10**9 + i * 100_000_000
            header = header_t(stamp=time_t(sec=t_ns // 10**9, nanosec=t_ns % 10**9),
                              frame_id="pump_7")
            for topic, rate, n, name, unit in (("/pm/accel", RATE, CHUNK, "DE", "g"),
                                               ("/pm/mic", MIC_RATE, MIC_CHUNK, "mic", "")):
                samples = (0.05 * rng.standard_normal(n)).astype(np.float32)
                bag.write_message(topic, chunk_t(header=header, sample_rate=rate,
                                                 channel_names=[name], unit=unit,
                                                 first_sample_index=i * n, samples=samples),
                                  t_ns)
                chunks.append((topic, t_ns, rate, name, i * n, samples, unit))
    return folder, chunks


def test_the_cli_learns_the_microphone_reference_as_the_node_pipeline_does(tmp_path, capsys):
    from pm_monitor.commission import PHYSICS_MODEL_DIR
    from pm_monitor.core.alarms import AlarmManager
    from pm_monitor.core.model_set import load_model_set
    from pm_monitor.core.pipeline import offline_pipeline

    asset = tmp_path / "pump_7.yaml"
    asset.write_text(ASSET + "  microphone: {enabled: true}\n")
    bag, chunks = _record_with_mic(tmp_path / "bag", 6.0)
    assert main([str(bag), "--asset", "pump_7", "--asset-file", str(asset),
                 "--reference-dir", str(tmp_path / "cli")]) == 0
    assert "microphone: complete" in capsys.readouterr().out
    # the node's pipeline fed the same chunks (what the monitor node runs on each message)
    models = load_model_set(PHYSICS_MODEL_DIR, asset_file=str(asset),
                            reference_dir=str(tmp_path / "live"))
    pipeline = offline_pipeline(models, AlarmManager("pump_7"))
    for topic, t_ns, rate, name, first, samples, unit in chunks:
        pipeline.on_chunk(topic.rsplit("/", 1)[1], t_ns, rate, [name], first, samples,
                          unit=unit)
    cli = ReferenceStore(tmp_path / "cli").part("acoustic").load("pump_7")
    live = ReferenceStore(tmp_path / "live").part("acoustic").load("pump_7")
    assert cli.complete and live.complete and cli.rate_hz == MIC_RATE
    assert cli.rows == live.rows[: len(cli.rows)] and len(cli.rows) == len(live.rows)
    np.testing.assert_allclose(cli.median, live.median, rtol=1e-12)


FAN = """asset:
  id: fan_3
  accelerometer: {enabled: false}
  microphone: {enabled: true}
  commissioning: {duration_s: 4.0}
  analysis: {window_s: 1.0, hop_s: 0.5}
"""


def test_a_fan_watched_by_sound_alone_commissions_from_the_mic_topic(tmp_path, capsys):
    from pm_monitor.commission import PHYSICS_MODEL_DIR, commission

    asset = tmp_path / "fan_3.yaml"
    asset.write_text(FAN)
    bag, _ = _record_with_mic(tmp_path / "bag", 6.0)  # its accel topic is ignored
    assert main([str(bag), "--asset", "fan_3", "--asset-file", str(asset),
                 "--reference-dir", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "fan_3: commissioning complete" in out and "microphone only" in out
    cli = ReferenceStore(tmp_path / "cli").part("acoustic").load("fan_3")
    assert cli.complete and cli.axes == ["mic"] and cli.rate_hz == MIC_RATE
    assert ReferenceStore(tmp_path / "cli").load("fan_3") is None  # no vibration reference
    # the same through the function the node's pipeline shares
    stage = commission(bag, asset, tmp_path / "again", model_dir=PHYSICS_MODEL_DIR)
    assert stage.commissioned() and stage.reference().rows == cli.rows
    # a recording without the microphone topic: says so
    assert main([str(bag), "--asset", "fan_3", "--asset-file", str(asset), "--mic-topic",
                 "/nothing", "--reference-dir", str(tmp_path / "none")]) == 1
    assert "no usable microphone data on /nothing" in capsys.readouterr().err
