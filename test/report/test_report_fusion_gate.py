"""The report reads a fusion gate's ideal weights and modality bias from explanations (and
older explanations without those fields), and draws the gate panel with them."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt

from pm_monitor.report import figures
from pm_monitor.report.run_data import load_demo_dir


def _explanation(sec: int, gated: bool) -> dict:
    row = {"header": {"stamp": {"sec": sec, "nanosec": 0}, "frame_id": "asset"},
           "alert_id": f"rig_1-{sec:04d}", "sensor_names": ["accel_x", "thermal"],
           "sensor_importance": [0.7, 0.3], "computation_time_s": 0.02, "summary": "warning"}
    if gated:  # what conversions.explanation_msg writes with the fusion gate wired in
        row.update(modality_names=["thermal", "sensors"], modality_weights=[0.1, 0.9],
                   modality_weights_method="fusion_gate", modality_ideal_weights=[0.51, 0.49],
                   modality_bias=[-0.42, 0.42], modality_bias_decisions=sec)
    else:  # an older recording: IG shares, none of the gate fields
        row.update(modality_names=["accel", "thermal"], modality_weights=[0.8, 0.2],
                   modality_weights_method="integrated_gradients_share")
    return row


def _demo_dir(tmp_path: Path) -> Path:
    (tmp_path / "alerts.jsonl").write_text("")
    rows = [_explanation(1, False), _explanation(2, True), _explanation(3, True)]
    (tmp_path / "explanations.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


def test_explanation_rows_carry_the_gate_bias_or_stay_empty(tmp_path):
    old, first, last = load_demo_dir(_demo_dir(tmp_path)).explanations
    assert old.modality_bias == {} and old.modality_ideal_weights == {}
    assert old.modality_bias_decisions == 0 and old.modality_weights == {"accel": 0.8,
                                                                         "thermal": 0.2}
    assert last.modality_weights_method == "fusion_gate"
    assert last.modality_ideal_weights == {"thermal": 0.51, "sensors": 0.49}
    assert last.modality_bias == {"thermal": -0.42, "sensors": 0.42}
    assert (first.modality_bias_decisions, last.modality_bias_decisions) == (2, 3)


def test_importance_figure_draws_the_gate_panel(tmp_path):
    run = load_demo_dir(_demo_dir(tmp_path))
    path = figures.importance(run, tmp_path / "importance.png")
    image = mpimg.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    gated = run.explanations[1:]
    fig, ax = plt.subplots()
    figures._fusion_gate_overlay(ax, gated, ["sensors", "thermal"])
    assert "thermal -0.42, sensors +0.42 (3 decisions)" in ax.get_xlabel()
    assert [line.get_xdata()[0] for line in ax.lines] == [0.49, 0.51]  # the g* ticks
    plt.close(fig)
