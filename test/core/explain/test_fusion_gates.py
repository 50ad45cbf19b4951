"""Live fusion gate weights and modality bias ([P1]) from the shipped rig fusion model.

A short simulated rig run of our own (fresh seed and schedule, not a training run) is streamed
through the cascade while the training code (rig_dataset.generate_run + fusion_ablation's
fusion_set) builds the fusion model's training-style inputs for the same windows.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.explain import gates as gate_stats
from pm_monitor.core.explain.explainer import Explainer, ExplainerConfig
from pm_monitor.core.explain.fusion_gates import (
    MODALITIES,
    SENSORS,
    FusionGates,
    load_rig_fusion,
    rig_fusion_gates,
)
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import ModelLoadError, load_bundle
from pm_monitor.core.sync.window import FrameSample
from pm_monitor.core.types import THERMAL, HealthState
from pm_monitor.sim import FaultSchedule, ScheduledFault
from pm_monitor.training.rig_dataset import generate_run
from pm_monitor.training.run_plan import RunSpec
from pm_monitor.training.tasks.fusion_ablation import fusion_set, predict

REPO = Path(__file__).resolve().parents[3]
BUNDLE_DIR = REPO / "models" / "rig_baseline"
FUSION = REPO / "models" / "fusion" / "full.pt"


@pytest.fixture(scope="module")
def rig_run():
    if not (BUNDLE_DIR / "metadata.json").is_file() or not FUSION.is_file():
        pytest.skip("models/rig_baseline or models/fusion/full.pt not trained yet")
    torch.set_num_threads(1)
    bundle = load_bundle(BUNDLE_DIR)
    fusion = load_rig_fusion(bundle, FUSION)
    cascade = rig_cascade(bundle)
    decisions = []
    fault = ScheduledFault("inner_race", "nde_bearing", 3.0, 16.0, 2.0)
    spec = RunSpec("fusion_gates_test", FaultSchedule((fault,), "test"), 7_501, 18.0)
    run = generate_run(spec, FeatureExtractor(bundle.feature_config), bundle.window_s,
                       bundle.hop_s, frame_every=1, thermal_scale_k=5.0,
                       on_window=lambda w, _: decisions.append((cascade.process(w), w.frames)))
    return bundle, fusion, run, decisions


def test_live_gate_equals_the_training_input_path(rig_run):
    _, fusion, run, decisions = rig_run
    training = fusion_set([run], fusion.scaler, fusion.length)
    _, training_gates = predict(fusion.model, training)
    assert len(decisions) == len(training.state) >= 30
    live_gates = []
    for i, (result, frames) in enumerate(decisions):
        inputs = fusion.inputs(result.stage1_input, frames[THERMAL].image)
        assert inputs.sensor_present and inputs.thermal_present
        # float32 rounding of undoing the bundle's standardisation is all that may differ
        np.testing.assert_allclose(inputs.sequence, training.sequences[i], rtol=0, atol=1e-6)
        np.testing.assert_allclose(inputs.frame, training.frames[i], rtol=0, atol=1e-6)
        live_gates.append(fusion.gate(inputs))
    np.testing.assert_allclose(live_gates, training_gates, rtol=0, atol=1e-6)
    assert np.ptp(live_gates) > 1e-3  # the gate moves over the run: not a constant compared


def test_an_absent_sensor_is_imputed_as_in_training(rig_run):
    bundle, fusion, run, decisions = rig_run
    training = fusion_set([run], fusion.scaler, fusion.length)
    mic = FeatureExtractor(bundle.feature_config).sensor_slice("mic")
    assert fusion.columns[mic].tolist() == list(range(mic.start, mic.stop))  # same positions
    result, frames = decisions[20]
    stage1_input = result.stage1_input.copy()
    stage1_input[-1, mic] = 0.0  # what the bundle's scaler writes when the mic is absent
    inputs = fusion.inputs(stage1_input, frames[THERMAL].image)
    expected = training.sequences[20].copy()
    expected[-1, mic] = 0.0  # fusion_set: absent -> 0 in the fusion's own standardisation
    assert np.abs(training.sequences[20][-1, mic]).max() > 1e-3  # not 0 when present
    np.testing.assert_allclose(inputs.sequence, expected, rtol=0, atol=1e-6)


def test_missing_thermal_frame_leaves_the_decision_to_the_sensors(rig_run):
    _, fusion, _, decisions = rig_run
    gates = FusionGates(fusion)
    result, frames = decisions[-1]
    reading = gates(result, {})
    assert reading.weights == {THERMAL: 0.0, SENSORS: 1.0}
    assert "no thermal frame" in reading.note and reading.decisions == 0 and not reading.bias
    broken = FrameSample(result.t_end_ns, np.full_like(frames[THERMAL].image, np.nan), "t")
    assert gates(result, {THERMAL: broken}).weights[THERMAL] == 0.0
    with_frame = gates(result, frames)
    assert 0.0 < with_frame.weights[THERMAL] < 1.0 and not with_frame.note
    assert with_frame.decisions == 1  # forced gates are not in the running mean


def test_running_mean_and_bias_match_modality_bias(rig_run):
    _, fusion, _, decisions = rig_run
    gates = FusionGates(fusion)
    free = []
    for i, (result, frames) in enumerate(decisions):
        reading = gates(result, frames if i % 3 else {})  # every third window without a frame
        if i % 3:
            free.append(reading.weights[THERMAL])
    expected = gate_stats.modality_bias(
        np.array(free), MODALITIES, {THERMAL: fusion.g_star, SENSORS: 1.0 - fusion.g_star})
    assert reading.decisions == len(free) == gates.mean_gate()[1]
    assert reading.ideal == pytest.approx(expected.ideal_gate)
    assert reading.bias == pytest.approx(expected.bias, abs=1e-12)
    assert gates.mean_gate()[0] == pytest.approx(expected.mean_gate[THERMAL], abs=1e-12)
    gates.reset()
    assert gates.mean_gate() == (None, 0)


def test_running_mean_counts_every_decision_across_threads(rig_run):
    _, fusion, _, decisions = rig_run
    gates = FusionGates(fusion)
    result, frames = decisions[-1]
    single = gates(result, frames).weights[THERMAL]
    workers = [threading.Thread(target=lambda: [gates(result, frames) for _ in range(5)])
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    mean, count = gates.mean_gate()
    assert count == 16 and mean == pytest.approx(single, abs=1e-9)


def test_explanation_carries_gate_ideal_weights_and_bias(rig_run):
    bundle, _, _, decisions = rig_run
    gates = rig_fusion_gates(bundle, FUSION)
    explainer = Explainer.from_bundle(bundle, modality_gates=gates,
                                      config=ExplainerConfig(ig_steps=8, counterfactual=None))
    faulty = [(r, f) for r, f in decisions if r.state != HealthState.NORMAL]
    assert faulty, "the fault run should give not-normal decisions"
    result, frames = faulty[-1]
    explanation = explainer.explain(result, frames)
    assert explanation.modality_weights_method == "fusion_gate"
    assert set(explanation.modality_weights) == set(MODALITIES)
    assert sum(explanation.modality_weights.values()) == pytest.approx(1.0)
    assert explanation.modality_ideal_weights[THERMAL] == pytest.approx(gates.fusion.g_star)
    assert explanation.modality_bias_decisions == 1
    assert explanation.modality_bias[THERMAL] == pytest.approx(
        explanation.modality_weights[THERMAL] - gates.fusion.g_star)
    as_dict = explanation.to_dict()
    assert as_dict["modality_bias"] == explanation.modality_bias
    assert "fusion gate thermal" in explanation.summary
    assert "over 1 decisions" in explanation.summary
    blind = explainer.explain(result)  # no frames handed over
    assert blind.modality_weights[THERMAL] == 0.0 and "no thermal frame" in blind.summary
    assert blind.modality_bias_decisions == 1


def _copy_model(tmp_path: Path) -> Path:
    for suffix in (".pt", ".json"):
        shutil.copy(FUSION.with_suffix(suffix), tmp_path / f"full{suffix}")
    return tmp_path / "full.pt"


def test_wrong_or_corrupt_fusion_file_names_the_file(rig_run, tmp_path):
    bundle = rig_run[0]

    def refused(path: Path, reason: str):
        return pytest.raises(ModelLoadError, match=re.escape(f"{path}: ") + reason)

    with refused(tmp_path / "nowhere.pt", "file not found"):
        rig_fusion_gates(bundle, tmp_path / "nowhere.pt")
    path = _copy_model(tmp_path)
    path.write_bytes(b"not a state dict")
    with refused(path, "SHA-256 differs"):
        rig_fusion_gates(bundle, path)
    path = _copy_model(tmp_path)
    with refused(path, "does not fit the model bundle: sequence length 8"):
        rig_fusion_gates(dataclasses.replace(bundle, sequence_length=4), path)
    other = dataclasses.replace(bundle.feature_config, shaft_hz=25.0)
    with refused(path, "does not fit the model bundle: its feature configuration"):
        rig_fusion_gates(dataclasses.replace(bundle, feature_config=other), path)
    meta = path.with_suffix(".json")
    meta.write_text(meta.read_text().replace('"sensor_columns"', '"columns"'))
    with refused(meta, "invalid fusion metadata"):
        rig_fusion_gates(bundle, path)
    meta.write_text("{ not json")
    with refused(meta, "not valid JSON"):
        rig_fusion_gates(bundle, path)
