"""Stage 1 of a rig-trained bundle (pm_monitor.core.models.bundle): window features of the
accelerometer, microphone and thermal frame -> standardised sequence -> HealthStateBiLSTM
(health state + fault type) and the feature autoencoder's score judged by a DynamicThreshold;
the bundle's health indicator of the same features feeds the RUL stage.

The BiLSTM and the autoencoder were trained with sensor dropout (training/augment.py: each
sensor group's standardised features zeroed with probability 0.1), so a missing modality's
features standardised to 0 are inputs they have seen. Whether that is good enough is the bundle's
held-out evidence (metadata "degraded_evidence", measured through the cascade by
training/degraded_evidence.py), turned into `degraded_modes` by core/model_set/degraded.py:
without a set of modalities that has a mode (one of them, or two with one left), the stage
decides on the others (each lacking modality is dropped whole, also when part of it arrived:
that is what was measured); a modality is lacking when it is missing from the window or has too
little of a stream to compute its features (below the feature configuration's min_coverage,
e.g. chunk loss). Lacking a set without a mode, it refuses instead of deciding on zero-filled
features. The all-input feature
sequence never takes a row decided without an input: it goes on across such a stretch as it
does across windows without a decision; each stretch without an input starts its own fresh
sequence, as each held-out run of the evidence started.
"""
from __future__ import annotations

import time

import numpy as np

from pm_monitor.core.cascade import SequenceHistory
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.models.bundle import ModelBundle
from pm_monitor.core.models.threshold import DynamicThreshold
from pm_monitor.core.stages.contract import (
    NO_DEGRADED_MODES,
    DegradedModes,
    InputRefusedError,
    NetworkRunner,
    Stage1Decision,
)
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL, MIC, THERMAL, HealthState

RIG_STAGE1_INPUTS: tuple[str, ...] = (ACCEL, MIC, THERMAL)


class RigStage1:
    name = "rig_stage1"
    required_inputs = RIG_STAGE1_INPUTS

    def __init__(self, bundle: ModelBundle, networks: NetworkRunner,
                 degraded_modes: DegradedModes = NO_DEGRADED_MODES) -> None:
        """networks: runs "stage1" (sequence -> state/fault probabilities, attention) and
        "anomaly" (features, present -> anomaly_score). degraded_modes: the sets of inputs it
        may decide without (core/model_set/degraded.py reads them from the bundle's
        evidence)."""
        self.bundle = bundle
        self.networks = networks
        self.degraded_modes = dict(degraded_modes)
        self.extractor = FeatureExtractor(bundle.feature_config)
        # one sequence per set of inputs: () = all of them, else the inputs decided without
        self._histories: dict[tuple[str, ...], SequenceHistory] = {}
        self._history_without: tuple[str, ...] = ()  # the inputs of the last decision
        # windows decided without each input (alone or with another)
        self._decided_without = dict.fromkeys(
            sorted({m for key in self.degraded_modes for m in key},
                   key=RIG_STAGE1_INPUTS.index), 0)
        self.threshold = DynamicThreshold(bundle.threshold)

    @property
    def sequence_shape(self) -> tuple[int, int]:
        return self.bundle.sequence_length, self.extractor.n_features

    def reset(self) -> None:
        self._histories.clear()
        self._history_without = ()
        self.threshold.reset()

    def status(self) -> dict[str, object]:
        """/diagnostics values: the degraded modes loaded (a set as 'mic+thermal'), the inputs
        of the last decision and how many windows were decided without each input."""
        values: dict[str, object] = {
            "stage1_may_decide_without": ", ".join(
                f"{'+'.join(mode.missing)} (up to {mode.max_state.label})"
                for mode in self.degraded_modes.values())
            or "nothing (needs accel, mic and thermal)",
            "stage1_last_decided_without": ", ".join(self._history_without) or "nothing"}
        values.update({f"stage1_windows_decided_without_{m}": n
                       for m, n in self._decided_without.items()})
        return values

    def decide(self, window: AnalysisWindow) -> Stage1Decision:
        start = time.perf_counter()
        values, present = self.extractor.extract(window)
        without, refused = self._lacking(window, present)
        for sensor in self.extractor.sensor_groups:
            if self.extractor.modality_of_sensor(sensor) in without:
                values[self.extractor.sensor_slice(sensor)] = 0.0
                present[self.extractor.sensor_slice(sensor)] = False
        standardised = self.bundle.scaler.standardise(values, present)
        features_done = time.perf_counter()
        if without and without != self._history_without:  # a stretch without an input
            self._histories.pop(without, None)  # starts a fresh sequence of its own
        self._history_without = without
        for missing in without:
            self._decided_without[missing] += 1
        history = self._histories.setdefault(without, SequenceHistory(self.bundle.sequence_length))
        sequence = history.push(standardised)
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
                        "anomaly": (end - stage1_done) * 1e3},
            refused_inputs=refused, decided_without=without)

    def _lacking(self, window: AnalysisWindow, present: np.ndarray
                 ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """(the inputs decided without, in RIG_STAGE1_INPUTS order; (input, why) for each that
        arrived but was unusable). A sensor group without features makes its whole modality
        lacking; a lacking set without a degraded mode is refused (InputRefusedError, naming
        an input that has no mode of its own where there is one)."""
        reasons: dict[str, str] = {}
        for sensor in self.extractor.sensor_groups:
            if not present[self.extractor.sensor_slice(sensor)].any():
                modality = self.extractor.modality_of_sensor(sensor)
                reasons.setdefault(modality, "missing from the window"
                                   if modality not in window.present else
                                   f"too little {sensor} data in the window for its features")
        if not reasons:
            return (), ()
        if frozenset(reasons) not in self.degraded_modes:
            blocking = next((m for m in reasons if frozenset((m,)) not in self.degraded_modes),
                            next(iter(reasons)))
            raise InputRefusedError(blocking, reasons[blocking])
        lacking = tuple(m for m in RIG_STAGE1_INPUTS if m in reasons)
        refused = tuple((m, reasons[m]) for m in lacking if m in window.present)
        return lacking, refused

    def _top_fault(self, fault_p: np.ndarray) -> str:
        """Most likely fault type other than "none" (the state head already said "faulty")."""
        names = self.bundle.fault_types
        candidates = [i for i, name in enumerate(names) if name != "none"]
        return names[max(candidates, key=lambda i: fault_p[i])]
