"""The new-asset demo part on a slice of Bearing3_3: replay + monitor (physics set, empty
reference) as processes; the monitor commissions from the first 60 snapshots and the short
summary is written. No timing is asserted (the replay waits for the monitor's subscription)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("rclpy")
pytest.importorskip("pm_monitor.msg", reason="messages not built: run tools/setup_env.sh")


def test_new_asset_commissions_from_the_recording_and_writes_the_summary(tmp_path):
    from pm_monitor.demo.run_new_asset_demo import COMMISSIONING_STREAM_S, run

    summary = run("Bearing3_3", speed=1.0, out_dir=tmp_path, duration_s=10.0)
    assert summary["exit_codes"]["replay"] == 0
    assert summary["max_commissioning_progress"] == pytest.approx(1.0)
    assert summary["commissioning_done_window"] is not None
    # the 0.1 s windows hold one snapshot each: 60 snapshots learn the reference
    assert summary["commissioning_windows"] >= round(COMMISSIONING_STREAM_S / 0.1) - 1
    assert summary["windows"] > summary["commissioning_windows"]
    # only the bearing's accelerometers are played, and nothing is reported missing
    assert summary["inputs_used"] == ["accel"] and summary["windows_with_missing_inputs"] == 0
    assert not (tmp_path / "model_set").exists()  # the shipped model set, no copied descriptor
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["commissioning_done_life_fraction"] == summary[
        "commissioning_done_life_fraction"]
    assert (tmp_path / "new_asset_timeline.png").is_file()
    assert (tmp_path / "reference").is_dir() and any((tmp_path / "reference").iterdir())
