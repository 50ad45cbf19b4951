"""Stage 1 of the real-data cascade: FEMTO bearing features -> commissioning baseline ->
standardised sequence -> HealthStateBiLSTM (4 states) and the feature autoencoder's score
judged by the DynamicThreshold.

Exactly the path of training/tasks/femto_states.py (``load_features`` then
``predict_bearing``): ``window_features`` of one snapshot per window with the model's feature
configuration and the shaft speed, minus the mean of the first ``baseline_snapshots`` windows
(``baseline_of``), standardised with the shipped statistics, a sequence of the last
``sequence_length`` snapshots left-padded with the first one, and the reconstruction error of
the newest row. When the baseline completes, the commissioning windows get their relative
features and anomaly scores as training gives them (the scores go through the threshold in
order), so every later decision equals training's for the same snapshots.
"""
from __future__ import annotations

import numpy as np

from pm_monitor.core.cascade import SequenceHistory
from pm_monitor.core.features.bearing_window import window_features
from pm_monitor.core.models.threshold import DynamicThreshold
from pm_monitor.core.realdata.femto_features import baseline_of, relative_to
from pm_monitor.core.realdata.profile import RealDataProfile
from pm_monitor.core.stages.contract import (
    NO_DEGRADED_MODES,
    Abstention,
    InputRefusedError,
    NetworkRunner,
    Stage1Decision,
)
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import ACCEL, HealthState


class FemtoStage1:
    """Stateful Stage 1 of one bearing (baseline, sequence history, threshold history).
    Needs the accelerometer only; the microphone and the frames never reach it."""

    name = "femto_stage1"
    required_inputs = (ACCEL,)
    degraded_modes = NO_DEGRADED_MODES

    def __init__(self, profile: RealDataProfile, networks: NetworkRunner) -> None:
        """networks: runs "stage1" (sequence -> state_probabilities, fault_probabilities,
        attention) and "anomaly" (features, present -> anomaly_score)."""
        self.profile = profile
        self.networks = networks
        self.threshold = DynamicThreshold(profile.threshold)
        self._history = SequenceHistory(profile.sequence_length)
        self._commissioning: list[np.ndarray] = []
        self.baseline: np.ndarray | None = None

    @property
    def progress(self) -> tuple[int, int] | None:
        """(windows seen, needed) while the baseline is being learned; None once it is."""
        if self.baseline is not None:
            return None
        return len(self._commissioning), self.profile.baseline_snapshots

    @property
    def sequence_shape(self) -> tuple[int, int]:
        return self.profile.sequence_length, len(self.profile.feature_names)

    def status(self) -> dict[str, object]:
        progress = self.progress
        return {"commissioning": f"{progress[0]}/{progress[1]}" if progress else "done"}

    def decide(self, window: AnalysisWindow) -> Stage1Decision | Abstention:
        """One window's decision; an Abstention while the baseline is commissioned."""
        try:
            raw = self.raw_features(window.streams[ACCEL])
        except ValueError as err:
            raise InputRefusedError(ACCEL, str(err)) from None
        decision = self.update(raw)
        if decision is None:
            return Abstention("commissioning baseline", self.progress)
        return decision

    def reset(self) -> None:
        """Forget the baseline too: a new bearing (or a re-mounted sensor) commissions anew."""
        self.threshold.reset()
        self._history.clear()
        self._commissioning.clear()
        self.baseline = None

    def set_baseline(self, baseline: np.ndarray) -> None:
        """Use a known commissioning baseline (raw feature means, e.g. stored at install time)
        instead of learning one; the history starts afresh."""
        baseline = np.asarray(baseline, np.float32)
        if baseline.shape != (len(self.profile.feature_names),):
            raise ValueError(f"baseline must hold {len(self.profile.feature_names)} features, "
                             f"got shape {baseline.shape}")
        self.reset()
        self.baseline = baseline

    def raw_features(self, accel: StreamWindow) -> np.ndarray:
        """(D,) raw window features of one accelerometer window (one FEMTO snapshot)."""
        p = self.profile
        names = tuple(accel.channel_names)
        if accel.samples.ndim != 2 or accel.samples.shape[1] != len(p.accel_channels):
            raise ValueError(f"accel window has shape {accel.samples.shape}, the model needs "
                             f"{len(p.accel_channels)} channels {p.accel_channels}")
        if names and names != p.accel_channels:
            raise ValueError(f"accel channels {names}, the model needs {p.accel_channels}")
        if accel.sample_rate != p.accel.sample_rate_hz:
            raise ValueError(f"accel sample rate {accel.sample_rate:g} Hz, the model was "
                             f"trained at {p.accel.sample_rate_hz:g} Hz")
        if not accel.valid.all():
            raise ValueError(f"accel window incomplete ({accel.coverage:.0%} of its samples)")
        return window_features(accel.samples[None], accel.sample_rate, p.shaft_hz,
                               p.feature_config)[0]

    def update(self, raw: np.ndarray) -> Stage1Decision | None:
        """One window's raw features -> decision (None while commissioning)."""
        if self.baseline is None:
            self._commissioning.append(raw)
            if len(self._commissioning) < self.profile.baseline_snapshots:
                return None
            rows = np.stack(self._commissioning)
            self.baseline = baseline_of(rows)
            self._commissioning.clear()
            z = self._standardise(relative_to(rows, self.baseline))
            scores = self._scores(z)
            for row, score in zip(z[:-1], scores[:-1], strict=True):
                self._history.push(row)
                self.threshold.update(float(score))
            return self._decide(z[-1], float(scores[-1]))
        z = self._standardise(relative_to(raw[None], self.baseline))
        return self._decide(z[0], float(self._scores(z)[0]))

    def _decide(self, z: np.ndarray, score: float) -> Stage1Decision:
        sequence = self._history.push(z)
        out = self.networks.run("stage1", {"sequence": sequence[None]})
        probabilities = out["state_probabilities"][0]
        anomalous, threshold = self.threshold.update(score)
        state = HealthState(int(np.argmax(probabilities)))
        p_not_normal = float(1.0 - probabilities[HealthState.NORMAL])
        fault = self.profile.fault_type
        # FEMTO has no fault classes (the model's fault head is untrained and unused):
        # P(degradation) = P(not Normal) from the state head.
        return Stage1Decision(
            state_probabilities=probabilities,
            fault_type_probabilities={"none": 1.0 - p_not_normal, fault: p_not_normal},
            fault_type="none" if state == HealthState.NORMAL else fault,
            attention=out["attention"][0], sequence=sequence, anomaly_score=score,
            anomaly_threshold=threshold, anomalous=bool(anomalous))

    def _standardise(self, relative: np.ndarray) -> np.ndarray:
        return self.profile.scaler.standardise(relative, np.ones_like(relative, dtype=bool))

    def _scores(self, z: np.ndarray) -> np.ndarray:
        out = self.networks.run("anomaly", {"features": z, "present": np.ones_like(z)})
        return out["anomaly_score"]
