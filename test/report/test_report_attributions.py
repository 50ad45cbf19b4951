"""The report reads Shapley values from explanations (older ones have none) and draws them."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg

from pm_monitor.report.__main__ import build_report
from pm_monitor.report.attributions import shapley_figure, top_shapley_sensor
from pm_monitor.report.run_data import load_demo_dir


def _explanation(sec: int, with_shapley: bool) -> dict:
    row = {"header": {"stamp": {"sec": sec, "nanosec": 0}, "frame_id": "asset"},
           "alert_id": f"rig_1-{sec:04d}", "sensor_names": ["accel_x", "thermal"],
           "sensor_importance": [0.7, 0.3], "computation_time_s": 0.02, "summary": "warning",
           "modality_names": ["accel", "thermal"], "modality_weights": [0.8, 0.2]}
    if with_shapley:  # what conversions.explanation_msg writes
        row.update(shapley_sensor_names=["accel_x", "thermal"],
                   shapley_sensor_values=[0.2 * sec, -0.5],
                   shapley_modality_names=["accel", "thermal"],
                   shapley_modality_values=[0.25 * sec, -0.45], shapley_output=2.0,
                   shapley_reference_output=1.0, shapley_method="shapley(sensors exact, ...)")
    return row


def _demo_dir(tmp_path: Path) -> Path:
    (tmp_path / "alerts.jsonl").write_text("")
    rows = [_explanation(1, False), _explanation(2, True), _explanation(4, True)]
    (tmp_path / "explanations.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


def test_rows_carry_shapley_values_or_stay_empty(tmp_path):
    old, second, last = load_demo_dir(_demo_dir(tmp_path)).explanations
    assert old.shapley_sensors == {} and old.shapley_modalities == {}
    assert second.shapley_sensors == {"accel_x": 0.4, "thermal": -0.5}
    assert last.shapley_modalities == {"accel": 1.0, "thermal": -0.45}
    assert top_shapley_sensor(second.shapley_sensors) == "thermal (-0.50)"
    assert top_shapley_sensor(old.shapley_sensors) == ""


def test_shapley_panel_and_page(tmp_path):
    run = load_demo_dir(_demo_dir(tmp_path))
    image = mpimg.imread(shapley_figure(run, tmp_path / "shapley.png"))
    assert image.shape[0] > 100 and image.shape[1] > 100
    page = build_report(run, tmp_path / "report").read_text()
    assert "shapley.png" in page and "accel_x (+0.80)" in page


def test_no_panel_without_shapley_values(tmp_path):
    run = load_demo_dir(_demo_dir(tmp_path))
    run.explanations = run.explanations[:1]
    assert shapley_figure(run, tmp_path / "none.png") is None
