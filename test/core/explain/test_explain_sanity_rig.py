"""Sanity checks of the explanations on the shipped rig bundle with simulated rig windows.

Fresh seeds and a schedule of our own (not the bundle's training, validation or held-out
runs): a healthy run gives the background, an outer-race fault at the drive-end bearing gives
the windows to explain.
"""
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.explain.attribution import integrated_gradients
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.counterfactual import CounterfactualConfig
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import housing_test, rig_window

BUNDLE_DIR = Path(__file__).resolve().parents[3] / "models" / "rig_baseline"


@pytest.fixture(scope="module")
def explained_run():
    if not (BUNDLE_DIR / "metadata.json").is_file():
        pytest.skip("models/rig_baseline not trained yet")
    torch.set_num_threads(1)
    bundle = load_bundle(BUNDLE_DIR)
    background = HealthyBackground(capacity=8, seed=0)
    healthy = RigSimulator(RigConfig(), FaultSchedule((), "healthy"), seed=7_301)
    cascade = rig_cascade(bundle)
    for i in range(24):
        background.observe(cascade.process(rig_window(healthy, 1.0 + 0.5 * i, bundle.window_s)))
    assert len(background) == 8
    fault = ScheduledFault("outer_race", "de_bearing", 5.0, 45.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "test"), seed=7_302)
    cascade = rig_cascade(bundle)
    explainer = Explainer.from_bundle(bundle, background, thermal_gradcam=True)
    items = []
    for i in range(92):
        t_end = 1.0 + 0.5 * i
        window = rig_window(simulator, t_end, bundle.window_s)
        result = cascade.process(window)
        if result.state != HealthState.NORMAL and i % 3 == 0:
            items.append((result, window, simulator.truth(t_end),
                          explainer.explain(result, window.frames)))
    assert len(items) >= 10, "the fault run should give not-normal windows to explain"
    return bundle, explainer, items


def _probability(model, sequence: np.ndarray, state: int) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(sequence)[None]).state_logits
    return float(torch.softmax(logits, dim=-1)[0, state])


def _remove(sequence: np.ndarray, extractor: FeatureExtractor, sensors,
            reference: np.ndarray) -> np.ndarray:
    """Removing a sensor = replacing its features by the attribution's baseline (here the
    healthy background's mean sequence), the reference the importances are measured against."""
    out = sequence.copy()
    for sensor in sensors:
        where = extractor.sensor_slice(sensor)
        out[:, where] = reference[:, where]
    return out


@pytest.mark.parametrize("k", [1, 2])
def test_deletion_of_top_ranked_sensors_changes_the_prediction_more_than_random(
        explained_run, k):
    bundle, explainer, items = explained_run
    extractor = FeatureExtractor(bundle.feature_config)
    model = explainer.stage1
    reference = explainer.background.baselines().mean(axis=0)
    top_drops, random_drops = [], []
    for result, _, _, explanation in items:
        state = int(result.state)
        x = result.stage1_input
        p = _probability(model, x, state)
        ranked = sorted(explanation.sensor_importance, key=explanation.sensor_importance.get,
                        reverse=True)
        removed = _remove(x, extractor, ranked[:k], reference)
        top_drops.append(p - _probability(model, removed, state))
        # "random": the expectation over every choice of k sensors, uniformly
        random_drops.append(np.mean([
            p - _probability(model, _remove(x, extractor, chosen, reference), state)
            for chosen in combinations(extractor.sensor_groups, k)]))
    # per window the ranking is noisier (benchmarks/explain_benchmark.py prints both)
    assert np.mean(top_drops) > np.mean(random_drops)


def test_thermal_heatmap_peaks_on_the_injected_hotspot(explained_run):
    _, _, items = explained_run
    inside = housing_test()
    hits, errors = [], []
    for _, _, truth, explanation in items:
        if truth.hotspot_px is None:
            continue
        heatmap = explanation.heatmaps["thermal"]
        assert heatmap.method == "grad_cam(attended)"
        hits.append(inside(truth.fault_location, heatmap.hotspot_xy))
        errors.append(np.hypot(heatmap.hotspot_xy[0] - truth.hotspot_px[0],
                               heatmap.hotspot_xy[1] - truth.hotspot_px[1]))
    assert len(hits) >= 10
    assert np.mean(hits) >= 0.9  # peak inside the failing housing
    assert np.median(errors) <= 12.0  # pixels on the 160 x 120 frame


def test_integrated_gradients_completeness_on_stage1(explained_run):
    _, explainer, items = explained_run
    for result, _, _, explanation in items[:4]:
        attribution = integrated_gradients(explainer.stage1, result.stage1_input,
                                           int(result.state), explainer.background.baselines(),
                                           n_steps=64)
        assert attribution.relative_completeness_error < 0.05
        assert explanation.ig_relative_completeness_error < 0.1  # 32 steps in the explainer
    assert explanation.ig_baseline == "healthy background (K=8)"


def test_explanations_are_complete_and_counterfactuals_consistent(explained_run):
    bundle, _, items = explained_run
    for result, _, _, explanation in items:
        assert sum(explanation.sensor_importance.values()) == pytest.approx(1.0)
        assert sum(explanation.modality_weights.values()) == pytest.approx(1.0)
        assert explanation.temporal_attention.shape == (bundle.sequence_length,)
        cf = explanation.counterfactual
        assert cf is not None and len(cf.changes) >= 1
        if cf.sensors:  # sensor-level answer: only features of the named sensors
            assert len(cf.sensors) <= CounterfactualConfig().max_sensors
            assert all(c.feature.partition(".")[0] in cf.sensors for c in cf.changes)
        else:
            assert len(cf.changes) <= CounterfactualConfig().max_features
        for change in cf.changes:
            assert change.feature in bundle.feature_names
            assert np.isfinite(change.current.value) and np.isfinite(change.needed.value)
        if cf.reached_target:
            assert cf.p_target_after > cf.p_target_before
        assert explanation.summary.startswith(result.state.label)
