"""Smoke test of the whole training pipeline at --quick size (~15 s on one core)."""
import json

import pytest

from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.training.rig_baseline import main


def test_quick_training_writes_a_loadable_bundle_and_metrics(tmp_path, capsys):
    model_dir, results_dir = tmp_path / "model", tmp_path / "results"
    results = main(["--quick", "--out", str(model_dir), "--results", str(results_dir)])
    bundle = load_bundle(model_dir)
    assert bundle.info["label"] == "baseline trained on the simulated rig"
    assert sum(f.stat().st_size for f in model_dir.iterdir()) < 5 * 1024 * 1024
    metrics = json.loads((results_dir / "metrics.json").read_text())
    assert metrics["windows"] == results["windows"] > 0
    assert 0.0 <= metrics["stage1"]["accuracy"] <= 1.0
    # Batch sequences built like training's reproduce the live cascade's Stage 1 exactly.
    dropout = metrics["stage1_modality_dropout"]
    assert dropout["all_modalities"]["accuracy"] == pytest.approx(metrics["stage1"]["accuracy"])
    for png in ("learning_curves.png", "confusion_stage1.png", "timeline_heldout.png"):
        assert (results_dir / png).stat().st_size > 0
    assert rig_cascade(bundle).stage1.bundle is bundle
    # the evidence for deciding without a modality, measured on the same held-out runs
    evidence = bundle.degraded_evidence
    assert evidence["measured_through"] == "Cascade.process"
    assert evidence["runs"] == metrics["runs"]
    assert set(evidence["without"]) == {"accel", "mic", "thermal", "accel+mic", "accel+thermal",
                                        "mic+thermal"}
    assert evidence["all_inputs"]["windows"] == metrics["windows"]
    assert (results_dir / "degraded_modalities.md").read_text().startswith("| condition |")
    assert "held-out Stage 1" in capsys.readouterr().out
