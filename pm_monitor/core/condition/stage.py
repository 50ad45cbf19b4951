"""The physics path as the Stage 1 of a model set (pm_monitor.core.stages.contract.Stage1):
per-asset commissioning + physics rules on an analysis window's accelerometer, 1..N named axes
at any rate the asset supports.

While the asset's reference is being learned it abstains (`Abstention.commissioning` = windows
learned, windows needed): the window carries no model decision, and the ISO zone alarm alone
follows the measured velocity. Windows come from the monitor's synchroniser, overlapping by
window - hop: commissioning counts only the seconds not seen in the previous window. An input
it cannot take (a rate below features.MIN_RATE_HZ, axes other than the stored reference's, a
gappy window) raises InputRefusedError with the reason: it does not vote. What a low rate it
takes cannot analyse (high bands, the envelope's fault type) is said in /diagnostics
(`not_analysed`), in the commissioning summaries and in the evidence of a decision that would
have named a fault type.

A microphone is optional (only for an asset whose description declares one): its acoustic
reference commissions beside the vibration one (same store, its `acoustic` part), its anomaly
is reported in every decided window's evidence, and it may raise Pre-Warning by the rules of
`core.condition.acoustic.AcousticVote` (corroboration, or persistence alone). A missing or
refused microphone never votes and never blocks the vibration decision.

An asset watched by sound alone (`accelerometer: {enabled: false}`, a fan with no declared
bearing) has the microphone as its one required input: it abstains while the acoustic
reference is learned (the same commissioning counts), then the AcousticVote decides alone:
Normal, or Pre-Warning once the sound has stayed changed for `microphone.alone_s` (never more:
a sound's change from the asset's reference says that something changed, not how far a fault
has gone, and no ISO zone or defect tone can confirm it). A missing or refused microphone
there means no decision.

Samples lost in transport (a best-effort link drops whole chunks) are zero-filled holes in the
synchroniser's window; they are never judged (nor learned at commissioning): each input is
judged on its window's longest stretch of received samples (`received_stretch`), when that
stretch covers MIN_COVERAGE of the window; a gappier window is refused.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pm_monitor.core.assets.description import AssetDescription
from pm_monitor.core.condition.acoustic import (
    ACOUSTIC_FAULT,
    ACOUSTIC_PART,
    AcousticAssessment,
    AcousticMonitor,
    AcousticRules,
    AcousticVote,
    MicRateError,
)
from pm_monitor.core.condition.defects import FAULT_TYPES, UNCERTAIN
from pm_monitor.core.condition.features import ISO_VELOCITY_BAND_HZ, RateError
from pm_monitor.core.condition.monitor import Assessment, AssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.stages.contract import (
    NO_DEGRADED_MODES,
    Abstention,
    InputRefusedError,
    Stage1Decision,
)
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import ACCEL, MIC, HealthState

# share of the window its longest stretch of received samples must cover. Half: the stretch's
# statistics are those of half a window (chosen on the simulated rig with 10-20 % of its 0.1 s
# chunks lost: no false window, as without loss; results/any_machine/chunk_loss.md). 0.95
# left a link losing 20 % of its chunks with no decision at all.
MIN_COVERAGE = 0.5
# a stretch of the accelerometer must hold one period of the ISO velocity band's lower edge
MIN_ACCEL_STRETCH_S = 1.0 / ISO_VELOCITY_BAND_HZ[0]
FAULT_NAMES = ("none", *FAULT_TYPES, UNCERTAIN)
SOUND_FAULT_NAMES = ("none", ACOUSTIC_FAULT)  # what sound alone can name


def received_stretch(sw: StreamWindow, new_s: float, min_s: float = 0.0
                     ) -> tuple[StreamWindow | None, float, str]:
    """(the window's longest stretch of received samples, the seconds of it not seen in the
    previous window, "") when it covers MIN_COVERAGE of the window and lasts `min_s`; else
    (None, 0, why). Never the zero-filled holes of lost chunks: scored, the steps into and out
    of a hole read as impacts (crest, kurtosis, envelope lines) on a healthy machine."""
    stretch = sw.longest_received()
    n = sw.valid.size
    share = stretch.valid.size / n if stretch is not None and n else 0.0
    if share < MIN_COVERAGE:
        return None, 0.0, (f"covers {sw.coverage:.0%} of the window, its longest stretch "
                           f"without lost samples {share:.0%} (needs {MIN_COVERAGE:.0%})")
    if stretch is sw:
        return sw, new_s, ""
    length_s = stretch.valid.size / sw.sample_rate
    if length_s < min_s:
        return None, 0.0, (f"its longest stretch without lost samples lasts {length_s:.3f} s "
                           f"(needs {min_s:.3f} s)")
    # the new seconds are the window's last new_s: count the stretch's samples among them
    start = round((stretch.t_start_ns - sw.t_start_ns) * sw.sample_rate / 1e9)
    first_new = n - round(new_s * sw.sample_rate)
    received_new = max(0, start + stretch.valid.size - max(start, first_new))
    return stretch, received_new / sw.sample_rate, ""


class PhysicsStage1:
    name = "asset_physics"
    required_inputs = (ACCEL,)
    degraded_modes = NO_DEGRADED_MODES

    def __init__(self, asset: AssetDescription, store: ReferenceStore | None,
                 unit: str | None = None, hop_s: float = 0.5,
                 acoustic_rules: AcousticRules | None = None) -> None:
        self.asset, self.store = asset, store
        self.unit = unit or asset.unit  # the unit the pipeline delivers the stream in
        self.hop_s = float(hop_s)
        self.monitor: AssetMonitor | None = None
        self.last: Assessment | None = None
        # measured speed (a tachometer topic, or a fixed override); None: the asset's source
        self.given_rpm: float | None = None
        self._last_end_ns: int | None = None
        # the microphone (assets that declare one): its own reference and latched vote
        self.acoustic_store = store.part(ACOUSTIC_PART) if store is not None else None
        self.acoustic: AcousticMonitor | None = None
        self.vote = AcousticVote(acoustic_rules
                                 or AcousticRules(alone_s=asset.microphone_alone_s))
        self.last_acoustic: AcousticAssessment | None = None
        # the inputs a decision needs: the accelerometer, or the microphone of an asset
        # watched by sound alone
        self.required_inputs = (ACCEL,) if asset.accelerometer else (MIC,)

    # --- commissioning -----------------------------------------------------------------
    def reference(self):
        """The reference decisions wait for: the vibration one, or the microphone's on an
        asset watched by sound alone."""
        if not self.asset.accelerometer:
            return self.acoustic_reference()
        if self.monitor is not None:
            return self.monitor.reference
        return self.store.load(self.asset.asset_id) if self.store is not None else None

    @property
    def progress(self) -> float:
        ref = self.reference()
        return ref.progress if ref is not None else 0.0

    def commissioning_counts(self) -> tuple[int, int]:
        """(windows learned, windows needed) at this set's hop."""
        ref = self.reference()
        done = len(ref.rows) if ref is not None else 0
        if ref is not None and ref.complete:
            return done, done
        left = self.asset.commissioning_s - (ref.collected_s if ref is not None else 0.0)
        return done, done + max(math.ceil(left / self.hop_s - 1e-9), 1)

    def reference_path(self) -> Path | None:
        """The file of the reference decisions wait for (None: kept in memory only)."""
        store = self.store if self.asset.accelerometer else self.acoustic_store
        return store.path(self.asset.asset_id) if store is not None else None

    def commissioned(self) -> bool:
        """Every reference the asset has is learned (the microphone's too, when declared)."""
        refs = [self.reference()] + ([self.acoustic_reference()]
                                     if self.asset.microphone and self.asset.accelerometer
                                     else [])
        return all(ref is not None and ref.complete for ref in refs)

    def reset_commissioning(self) -> None:
        """After maintenance: forget the reference and learn again."""
        if self.monitor is not None:
            self.monitor.reset()
        elif self.store is not None:
            self.store.reset(self.asset.asset_id)
        if self.acoustic is not None:
            self.acoustic.reset()
        elif self.acoustic_store is not None:
            self.acoustic_store.reset(self.asset.asset_id)
        self.vote.reset()

    # --- Stage1 ------------------------------------------------------------------------
    def reset(self) -> None:
        """A new run (stream restart): states and window overlap start again; the reference
        is kept (reset_commissioning forgets it)."""
        if self.monitor is not None:
            self.monitor.restart_states()
        self.vote.reset()
        self._last_end_ns = None

    def status(self) -> dict[str, object]:
        done, needed = self.commissioning_counts()
        values: dict[str, object] = {
            "asset_id": self.asset.asset_id, "commissioning_progress": round(self.progress, 3),
            "commissioning_windows": f"{done}/{needed}"}
        if self.store is not None:
            values["reference_file"] = str(self.reference_path())
        if self.monitor is not None and self.monitor.unavailable:
            values["not_analysed"] = "; ".join(self.monitor.unavailable)
        if self.last is not None and not self.last.commissioning:
            values["level_over_reference"] = round(self.last.health_indicator, 3)
            values["shaft_hz"] = round(self.last.shaft_hz, 2)
        if self.asset.microphone:
            ref = self.acoustic_reference()
            values["mic_commissioning_progress"] = round(ref.progress, 3) if ref else 0.0
            if self.last_acoustic is not None and not self.last_acoustic.commissioning:
                values["mic_anomaly_over_threshold"] = round(self.last_acoustic.anomaly, 3)
        return values

    def acoustic_reference(self):
        if self.acoustic is not None:
            return self.acoustic.reference
        if self.acoustic_store is not None:
            return self.acoustic_store.load(self.asset.asset_id)
        return None

    def _monitor_for(self, axes: list[str], rate_hz: float) -> AssetMonitor:
        m = self.monitor
        if m is None or m.axes != axes or abs(m.rate_hz - rate_hz) > 1e-6 * rate_hz:
            try:
                self.monitor = m = AssetMonitor(self.asset, axes, rate_hz, self.store)
            except (RateError, ValueError) as err:
                raise InputRefusedError(ACCEL, str(err)) from None
        return m

    def decide(self, window: AnalysisWindow) -> Stage1Decision | Abstention:
        if not self.asset.accelerometer:
            return self._decide_by_sound(window)
        sw = window.streams[ACCEL]
        new_s = self._new_seconds(window)
        stretch, stretch_new_s, why = received_stretch(sw, new_s, MIN_ACCEL_STRETCH_S)
        if stretch is None:
            raise InputRefusedError(ACCEL, why)
        monitor = self._monitor_for(list(sw.channel_names), float(sw.sample_rate))
        try:
            a = monitor.process(stretch.samples, self.unit, shaft_rpm=self.given_rpm,
                                new_s=stretch_new_s, gapped=stretch is not sw)
        except ValueError as err:
            raise InputRefusedError(ACCEL, str(err)) from None
        self.last = a
        acoustic, refused = self._listen(window, new_s)
        if a.commissioning:
            return Abstention(f"commissioning {self.asset.asset_id}: {a.summary}",
                              self.commissioning_counts())
        vibration_anomalous = a.anomalous or (
            np.isfinite(a.health_indicator)
            and a.health_indicator >= monitor.rules.pre_warning_ratio)
        mic_state = self.vote.update(acoustic, vibration_anomalous, new_s)
        return self._decision(a, monitor, acoustic, mic_state, refused)

    def _new_seconds(self, window: AnalysisWindow) -> float:
        """Seconds of this window not seen in the previous one (windows overlap)."""
        new_s = window.duration_s
        if self._last_end_ns is not None and window.t_end_ns > self._last_end_ns:
            new_s = min(new_s, (window.t_end_ns - self._last_end_ns) / 1e9)
        self._last_end_ns = window.t_end_ns
        return new_s

    def _decide_by_sound(self, window: AnalysisWindow) -> Stage1Decision | Abstention:
        """A microphone-only asset: commissioning, then the acoustic vote alone (module doc)."""
        new_s = self._new_seconds(window)
        acoustic, refused = self._listen(window, new_s)
        if refused:
            raise InputRefusedError(*refused[0])
        if acoustic is None:
            raise InputRefusedError(MIC, "no microphone stream in the window")
        if acoustic.commissioning:
            return Abstention(f"commissioning {self.asset.asset_id}: {acoustic.summary}",
                              self.commissioning_counts())
        state = self.vote.update(acoustic, False, new_s)
        fault = ACOUSTIC_FAULT if state != HealthState.NORMAL or acoustic.anomalous else "none"
        probabilities = np.zeros(len(HealthState), np.float32)
        probabilities[int(state)] = 1.0  # a rule, not a classifier
        threshold = self.acoustic.reference.threshold
        return Stage1Decision(
            state_probabilities=probabilities,
            fault_type_probabilities={n: float(n == fault) for n in SOUND_FAULT_NAMES},
            fault_type=fault, attention=np.ones(1, np.float32),
            sequence=acoustic.z[None, :].astype(np.float32),
            anomaly_score=float(acoustic.anomaly * threshold), anomaly_threshold=threshold,
            anomalous=acoustic.anomalous, evidence=(self._sound_evidence(acoustic, state),),
            anomaly_alarms=False)

    def _sound_evidence(self, acoustic: AcousticAssessment, state: HealthState) -> str:
        """The acoustic summary plus where the persistence rule stands."""
        needed = self.vote.rules.alone_s
        if state != HealthState.NORMAL:
            return (f"{acoustic.summary}; sound changed for {needed:g} s in a row: "
                    "Pre-Warning (sound alone never goes higher; latched until reset)")
        if acoustic.anomalous:
            return (f"{acoustic.summary}; changed for {self.vote.alone_s:.1f} of the "
                    f"{needed:g} s in a row that raise Pre-Warning")
        return acoustic.summary

    def _listen(self, window: AnalysisWindow, new_s: float
                ) -> tuple[AcousticAssessment | None, tuple[tuple[str, str], ...]]:
        """The microphone's assessment of this window (None: no mic, or refused: the reason
        goes back with the decision, which stands on the accelerometer)."""
        self.last_acoustic = None
        sw = window.streams.get(MIC)
        if not self.asset.microphone or sw is None:
            return None, ()
        stretch, stretch_new_s, why = received_stretch(sw, new_s)
        if stretch is None:
            return None, ((MIC, why),)
        channels, rate = list(sw.channel_names), float(sw.sample_rate)
        m = self.acoustic
        try:
            if m is None or m.channels != channels or abs(m.rate_hz - rate) > 1e-6 * rate:
                self.acoustic = m = AcousticMonitor(self.asset.asset_id, channels, rate,
                                                    self.acoustic_store,
                                                    self.asset.commissioning_s)
            self.last_acoustic = m.process(stretch.samples, stretch_new_s)
        except (MicRateError, ValueError) as err:
            return None, ((MIC, str(err)),)
        return self.last_acoustic, ()

    def _sequence(self, a: Assessment, acoustic: AcousticAssessment | None) -> np.ndarray:
        """(1, D): the vibration features' robust z, then the microphone's when it was judged
        (what PhysicsExplainer attributes)."""
        z = a.z if acoustic is None or acoustic.commissioning else np.concatenate(
            [a.z, acoustic.z])
        return z[None, :].astype(np.float32)

    def _decision(self, a: Assessment, monitor: AssetMonitor,
                  acoustic: AcousticAssessment | None = None,
                  mic_state: HealthState = HealthState.NORMAL,
                  refused: tuple[tuple[str, str], ...] = ()) -> Stage1Decision:
        state = max(a.state, mic_state)
        probabilities = np.zeros(len(HealthState), np.float32)
        probabilities[int(state)] = 1.0  # a rule, not a classifier: all on the state
        diagnosis = a.diagnosis
        fault = "none"
        if state != HealthState.NORMAL or a.anomalous:
            fault = diagnosis.fault_type if diagnosis is not None else UNCERTAIN
        ref = monitor.reference
        evidence = [a.summary] if fault != "none" else []  # level + defect lines
        if acoustic is not None:
            raised = " (raised the state)" if mic_state > a.state else ""
            evidence.append(acoustic.summary + raised)
        return Stage1Decision(
            state_probabilities=probabilities,
            fault_type_probabilities={name: float(name == fault) for name in FAULT_NAMES},
            fault_type=fault, attention=np.ones(1, np.float32),
            sequence=self._sequence(a, acoustic),
            anomaly_score=float(a.anomaly * ref.threshold), anomaly_threshold=ref.threshold,
            anomalous=a.anomalous, health_index=a.health_indicator, evidence=tuple(evidence),
            refused_inputs=refused, anomaly_alarms=False)
