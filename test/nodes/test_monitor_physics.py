"""The monitor node on a machine no model was trained on: a single-axis accelerometer at
20 kHz (a CWRU drive-end channel resampled from 12 kHz), the physics model set with only an
asset description. Commissioning first (HealthStatus says so), then an inner-race fault named
with its defect line; the reference survives a restart; `~/commission` reports and resets; the
CLI on a recording of the same chunks stores the same reference as the live node."""
from __future__ import annotations

import numpy as np
import pytest
from physics_harness import (
    PhysicsHarness,
    assert_restart_reloads_then_reset_forgets,
    sensor_chunks,
)
from scipy.signal import resample_poly

from pm_monitor.commission import commission
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.recording.mcap_bag import McapRecorder
from pm_monitor.core.recording.typestore import typestore
from pm_monitor.datasets import DataNotFoundError, cwru
from pm_monitor.msg import Alert

FS, CHUNK = 20000.0, 2000  # 0.1 s chunks
ASSET = """asset:
  id: pump_7
  unit: g
  shaft_speed: {source: estimated, nominal_rpm: 1760.0, search_fraction: 0.05}
  commissioning: {duration_s: 2.5}
  bearings:
    drive_end: {geometry: {n_balls: 9, ball_diameter_mm: 7.94, pitch_diameter_mm: 39.04}}
  axes: {DE: drive_end}
"""


def _cwru_de(label: str, up: int, down: int) -> np.ndarray:
    """The CWRU drive-end channel (0 hp, 12 kHz) resampled by up/down (anti-aliased)."""
    try:
        rec = next(r for r in cwru.list_records() if r.load_hp == 0 and r.label == label)
        x = cwru.load_record(rec).samples[:, 0]
    except DataNotFoundError as err:
        pytest.skip(str(err))
    return resample_poly(x, up, down).astype(np.float32)


def _de_20khz(label: str) -> np.ndarray:
    return _cwru_de(label, 5, 3)


def _chunks(x: np.ndarray, first: int = 0):
    return sensor_chunks(x, FS, CHUNK, "DE", "g", "pump_7", first)


def _harness(context, executor, tmp_path) -> PhysicsHarness:
    asset_file = tmp_path / "pump_7.yaml"
    asset_file.write_text(ASSET)
    return PhysicsHarness(context, executor, tmp_path, asset_file, "pump_7")


def test_single_axis_20khz_commissions_then_names_the_fault_and_survives_restart(
        ros_context, executor, tmp_path):
    normal, fault = _de_20khz("NORMAL"), _de_20khz("IR007")
    h = _harness(ros_context, executor, tmp_path)
    try:
        assert h.monitor.active, h.monitor.last_error
        assert h.call("progress").progress == 0.0
        h.feed(_chunks(normal[: int(5.0 * FS)]), "accel")
        learning = [m for m in h.health if m.commissioning_needed]
        progress = [m.commissioning_progress for m in learning]
        assert progress == sorted(progress) and progress[0] < 1.0 and progress[-1] == 1.0
        assert [m.commissioning_done for m in learning] == list(range(1, len(learning) + 1))
        decided = [m for m in h.health if not m.commissioning_needed]
        assert decided and all(m.state == 0 and m.commissioning_progress == 1.0
                               for m in decided)
        response = h.call("progress")
        assert response.success and response.complete and response.asset_id == "pump_7"
        assert h.alerts == []
        n_before = len(h.health)
        h.feed(_chunks(fault[: int(6.0 * FS)], first=int(5.0 * FS) // CHUNK), "accel")
        raised = [a for a in h.alerts if a.event == Alert.EVENT_RAISED]
        assert raised, [m.notes for m in h.health[n_before:]][-3:]
        assert any("inner race fault on drive_end" in a.summary for a in raised)
    finally:
        h.close()
    live = ReferenceStore(tmp_path / "refs").load("pump_7")
    assert live.complete and live.rate_hz == FS and live.axes == ["DE"]

    # restart: the reference is reloaded
    assert_restart_reloads_then_reset_forgets(lambda: _harness(ros_context, executor, tmp_path))

    # the CLI on a recording of the same chunks builds the same reference as the live node
    types = typestore().types
    chunk_t = types["pm_monitor/msg/SensorChunk"]
    header_t, time_t = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    with McapRecorder(tmp_path / "bag") as bag:
        for msg in _chunks(normal[: int(5.0 * FS)]):
            stamp = time_t(sec=msg.header.stamp.sec, nanosec=msg.header.stamp.nanosec)
            bag.write_message("/pm/accel", chunk_t(
                header=header_t(stamp=stamp, frame_id="pump_7"), sample_rate=FS,
                channel_names=["DE"], unit="g", first_sample_index=msg.first_sample_index,
                samples=np.asarray(msg.samples, np.float32)),
                msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
    commission(tmp_path / "bag", tmp_path / "pump_7.yaml", tmp_path / "cli")
    cli = ReferenceStore(tmp_path / "cli").load("pump_7")
    assert cli.complete and len(cli.rows) == len(live.rows)
    np.testing.assert_allclose(cli.median, live.median, rtol=1e-9)
    np.testing.assert_allclose(cli.precision, live.precision, rtol=1e-9, atol=1e-12)


MEMS_FS, MEMS_CHUNK = 3200.0, 320  # an ADXL345 at its top rate, 0.1 s chunks


def _de_3200hz(label: str) -> np.ndarray:
    """The CWRU drive-end channel as a 3.2 kHz sensor would deliver it."""
    return _cwru_de(label, 4, 15)


def test_a_3200_hz_mems_stream_commissions_decides_and_says_what_it_cannot_analyse(
        ros_context, executor, tmp_path):
    """An inner-race fault at 3.2 kHz: the deviation from the reference is reported on every
    window (anomalous, with the reasons in the notes), the state follows the ISO zone (A: no
    alarm), /diagnostics name what the rate cannot analyse."""
    normal, fault = _de_3200hz("NORMAL"), _de_3200hz("IR007")
    h = _harness(ros_context, executor, tmp_path)
    try:
        h.feed(sensor_chunks(normal[: int(5.0 * MEMS_FS)], MEMS_FS, MEMS_CHUNK, "DE", "g",
                             "pump_7"), "accel")
        learning = [m for m in h.health if m.commissioning_needed]
        assert learning and learning[-1].commissioning_progress == 1.0
        decided = [m for m in h.health if not m.commissioning_needed]
        assert decided and all(m.state == 0 for m in decided) and h.alerts == []
        off = h.monitor.models.status()["not_analysed"]  # what /diagnostics carries
        assert "fault type unknown: envelope analysis needs >= 3472 Hz, stream is 3200 Hz" in off
        assert "the 1-2.2 kHz band needs >= 4889 Hz, stream is 3200 Hz" in off
        n_before = len(h.health)
        h.feed(sensor_chunks(fault[: int(6.0 * MEMS_FS)], MEMS_FS, MEMS_CHUNK, "DE", "g",
                             "pump_7", first=int(5.0 * MEMS_FS) // MEMS_CHUNK), "accel")
        judged = h.health[n_before:]
        assert judged and all(not m.commissioning_needed and m.state == 0 for m in judged)
        deviating = [m for m in judged if m.anomalous]
        assert len(deviating) >= len(judged) // 2, [m.notes for m in judged][-3:]
        assert all(m.fault_type == "none" for m in deviating)  # Normal names no fault
        assert any("bearing-damage rules off" in n for n in deviating[-1].notes)
        assert h.alerts == []
    finally:
        h.close()
    assert ReferenceStore(tmp_path / "refs").load("pump_7").rate_hz == MEMS_FS
