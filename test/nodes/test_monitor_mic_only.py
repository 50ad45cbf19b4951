"""The monitor node on a fan watched by sound alone: the shipped mic-only asset file
(config/assets/mimii_fan.yaml, commissioning shortened), microphone SensorChunks at 16 kHz.
Commissioning first (HealthStatus says so, ~/commission reports the microphone reference),
then Normal on the fan's usual sound, then a sound that stays changed raises Pre-Warning and
never more, with the moved bands in the Alert summary; an accelerometer chunk is refused with
the reason; the reference survives a restart."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from physics_harness import (
    PhysicsHarness,
    assert_restart_reloads_then_reset_forgets,
    sensor_chunks,
)

from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.msg import Alert

FS, CHUNK = 16000.0, 1600  # 0.1 s chunks
COMMISSIONING_S = 5.0


def _fan_sound(seconds: float, seed: int, whine: bool = False) -> np.ndarray:
    """Broadband fan noise with a blade-pass hum; `whine`: a 3 kHz tone joins it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    x = 0.1 * rng.standard_normal(t.size) + 0.05 * np.sin(2 * np.pi * 120.0 * t)
    return (x + (0.1 * np.sin(2 * np.pi * 3000.0 * t) if whine else 0.0)).astype(np.float32)


def _chunks(x: np.ndarray, first: int = 0):
    return sensor_chunks(x, FS, CHUNK, "mic", "", "fan", first)


def _harness(context, executor, tmp_path: Path) -> PhysicsHarness:
    data = yaml.safe_load(Path("config/assets/mimii_fan.yaml").read_text())
    data["asset"]["commissioning"]["duration_s"] = COMMISSIONING_S
    asset_file = tmp_path / "mimii_fan.yaml"
    asset_file.write_text(yaml.safe_dump(data))
    return PhysicsHarness(context, executor, tmp_path, asset_file, "mimii_fan")


def test_a_fan_by_sound_alone_commissions_then_raises_pre_warning_at_most(
        ros_context, executor, tmp_path):
    h = _harness(ros_context, executor, tmp_path)
    try:
        assert h.monitor.active, h.monitor.last_error
        assert h.call("progress").progress == 0.0
        h.feed(_chunks(_fan_sound(10.0, 1)), "mic")
        learning = [m for m in h.health if m.commissioning_needed]
        progress = [m.commissioning_progress for m in learning]
        assert progress == sorted(progress) and progress[0] < 1.0 and progress[-1] == 1.0
        decided = [m for m in h.health if not m.commissioning_needed]
        assert decided and all(m.state == Alert.NORMAL for m in decided)
        response = h.call("progress")
        assert response.success and response.complete and response.asset_id == "mimii_fan"
        assert h.alerts == []
        # an accelerometer on the same node is no input of this asset: refused, with why
        h.feed(_chunks(np.zeros(2000, np.float32)), name="accel")
        accel = h.monitor.pipeline.stats.inputs["accel"]
        assert accel.rejected == accel.received > 0
        assert "not an input of the loaded model set" in accel.last_error
        # its silence is expected: /diagnostics does not call it stale (the rejections warn)
        assert h.monitor.diagnostics.unused == {"accel", "thermal", "camera"}
        n_before = len(h.health)
        h.feed(_chunks(_fan_sound(10.0, 2, whine=True), first=int(10.0 * FS) // CHUNK), "mic")
        raised = [a for a in h.alerts if a.event == Alert.EVENT_RAISED]
        assert raised, [m.notes for m in h.health[n_before:]][-3:]
        assert all(a.state == Alert.PRE_WARNING for a in h.alerts)
        assert raised[0].fault_type == "acoustic_anomaly"
        assert "mic anomaly" in raised[0].summary and "share_" in raised[0].summary
        assert max(m.state for m in h.health) == Alert.PRE_WARNING
        assert h.alerts[0].modalities_used == ["mic"]
    finally:
        h.close()
    stored = ReferenceStore(tmp_path / "refs").part("acoustic").load("mimii_fan")
    assert stored.complete and stored.rate_hz == FS

    # restart: the reference is reloaded
    assert_restart_reloads_then_reset_forgets(lambda: _harness(ros_context, executor, tmp_path))
