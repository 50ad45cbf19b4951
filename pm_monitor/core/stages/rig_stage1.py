"""Stage 1 of a rig-trained bundle (pm_monitor.core.models.bundle): window features of the
accelerometer, microphone and thermal frame -> standardised sequence -> HealthStateBiLSTM
(health state + fault type) and the feature autoencoder's score judged by a DynamicThreshold;
the bundle's health indicator of the same features feeds the RUL stage.

The BiLSTM was trained on windows with all three modalities (training/rig_baseline.py has no
modality dropout; evaluate.modality_dropout_metrics only measures the damage), so it needs all
three: a window without one of them, or with too little of a stream to compute its features
(below the feature configuration's min_coverage), gets no decision instead of zero-filled
features.
"""
from __future__ import annotations

import time

import numpy as np

from pm_monitor.core.cascade import SequenceHistory
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.models.threshold import DynamicThreshold
from pm_monitor.core.stages.contract import InputRefusedError, NetworkRunner, Stage1Decision
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL, MIC, THERMAL, HealthState

RIG_STAGE1_INPUTS: tuple[str, ...] = (ACCEL, MIC, THERMAL)


class RigStage1:
    name = "rig_stage1"
    required_inputs = RIG_STAGE1_INPUTS

    def __init__(self, bundle: ModelBundle, networks: NetworkRunner) -> None:
        """networks: runs "stage1" (sequence -> state/fault probabilities, attention) and
        "anomaly" (features, present -> anomaly_score)."""
        self.bundle = bundle
        self.networks = networks
        self.extractor = FeatureExtractor(bundle.feature_config)
        self._history = SequenceHistory(bundle.sequence_length)
        self.threshold = DynamicThreshold(bundle.threshold)

    @property
    def sequence_shape(self) -> tuple[int, int]:
        return self.bundle.sequence_length, self.extractor.n_features

    def reset(self) -> None:
        self._history.clear()
        self.threshold.reset()

    def status(self) -> dict[str, object]:
        return {}

    def decide(self, window: AnalysisWindow) -> Stage1Decision:
        start = time.perf_counter()
        values, present = self.extractor.extract(window)
        for sensor in self.extractor.sensor_groups:
            if not present[self.extractor.sensor_slice(sensor)].any():
                modality = self.extractor.modality_of_sensor(sensor)
                raise InputRefusedError(modality, f"too little {sensor} data in the window for "
                                             "its features")
        standardised = self.bundle.scaler.standardise(values, present)
        features_done = time.perf_counter()
        sequence = self._history.push(standardised)
        stage1 = self.networks.run("stage1", {"sequence": sequence[None]})
        state_p = stage1["state_probabilities"][0]
        fault_p = stage1["fault_probabilities"][0]
        state = HealthState(int(np.argmax(state_p)))
        stage1_done = time.perf_counter()
        anomaly = self.networks.run(
            "anomaly",
            {"features": standardised[None], "present": present[None].astype(np.float32)})
        score = float(anomaly["anomaly_score"][0])
        anomalous, threshold = self.threshold.update(score)
        end = time.perf_counter()
        names = self.bundle.fault_types
        return Stage1Decision(
            state_probabilities=state_p,
            fault_type_probabilities={n: float(p) for n, p in zip(names, fault_p, strict=True)},
            fault_type="none" if state == HealthState.NORMAL else self._top_fault(fault_p),
            attention=stage1["attention"][0], sequence=sequence, anomaly_score=score,
            anomaly_threshold=threshold, anomalous=anomalous,
            health_index=float(self.bundle.health_indicator(standardised)),
            timings_ms={"features": (features_done - start) * 1e3,
                        "stage1": (stage1_done - features_done) * 1e3,
                        "anomaly": (end - stage1_done) * 1e3})

    def _top_fault(self, fault_p: np.ndarray) -> str:
        """Most likely fault type other than "none" (the state head already said "faulty")."""
        names = self.bundle.fault_types
        candidates = [i for i, name in enumerate(names) if name != "none"]
        return names[max(candidates, key=lambda i: fault_p[i])]
