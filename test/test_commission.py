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
