"""Per-window decision streams the alarm evidence replays: simulated rig runs through the real
Cascade, and FEMTO bearings through a documented health-indicator rule.

A stream is what the alarm logic sees (state, abnormal flag, score, threshold, probabilities,
fault type, ISO velocity) plus the truth it is judged against. Streams are cached as .npz
(results/tmp/ is gitignored) so the alarm policies can be compared without re-simulating.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pm_monitor.core.alarms.severity_zones import velocity_rms_mm_s, window_velocity_mm_s
from pm_monitor.core.types import HealthState

G = 9.80665

# FEMTO rule (no model is trained on FEMTO here): health indicator HI = broadband RMS of the
# snapshot (both axes) / median RMS of the bearing's first 10 % of life. Levels are fixed
# a priori as doublings of the baseline (6 dB steps, the usual "alert at 2x baseline" practice
# of vibration trending), never tuned on the records: anomaly from 1.5x, Pre-Warning 2x,
# Warning 4x, Failure 8x.
FEMTO_BASELINE_FRACTION = 0.10
FEMTO_ANOMALY_HI = 1.5
FEMTO_STATE_HI = (2.0, 4.0, 8.0)  # PRE_WARNING, WARNING, FAILURE


@dataclass
class WindowStream:
    name: str
    kind: str  # "rig" or "femto"
    t_s: np.ndarray
    state: np.ndarray  # int HealthState per window
    abnormal: np.ndarray  # bool
    score: np.ndarray
    threshold: np.ndarray
    probabilities: np.ndarray  # (N, 4); NaN rows when the source has none
    fault: np.ndarray  # str
    velocity_mm_s: np.ndarray  # NaN when unknown
    truth_state: np.ndarray  # int; -1 when there is no truth (FEMTO)
    onset_s: float  # fault onset (rig schedule); NaN when unknown
    end_s: float  # failure time (rig schedule) or end of life (FEMTO); NaN for healthy runs
    description: str = ""

    @property
    def hop_s(self) -> float:
        return float(np.median(np.diff(self.t_s))) if self.t_s.size > 1 else 0.0

    def truth_first(self, state: HealthState) -> float:
        hits = np.flatnonzero(self.truth_state >= int(state))
        return float(self.t_s[hits[0]]) if hits.size else float("nan")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: np.asarray(v) for k, v in asdict(self).items()})

    @classmethod
    def load(cls, path: Path) -> WindowStream:
        with np.load(path, allow_pickle=False) as z:
            values = {k: z[k] for k in z.files}
        for key in ("name", "kind", "description"):
            values[key] = str(values[key])
        for key in ("onset_s", "end_s"):
            values[key] = float(values[key])
        return cls(**values)


@dataclass(frozen=True)
class RigRunSpec:
    name: str
    fault: dict | None  # fault schedule entry, None = healthy
    seed: int
    duration_s: float


def rig_stream(spec: RigRunSpec, bundle, progress=None) -> WindowStream:
    """Simulate one rig run and put every window through the real Cascade (as the node does)."""
    from pm_monitor.core.model_set.rig import rig_cascade
    from pm_monitor.sim import RigConfig, RigSimulator
    from pm_monitor.sim.fault_schedule import FaultSchedule
    from pm_monitor.training.rig_dataset import rig_window

    schedule = FaultSchedule.from_dict({"faults": [spec.fault] if spec.fault else []})
    simulator = RigSimulator(RigConfig(), schedule, spec.seed)
    cascade = rig_cascade(bundle)
    t_ends = np.arange(bundle.window_s, spec.duration_s + 1e-9, bundle.hop_s)
    rows = []
    for t_end in t_ends:
        window = rig_window(simulator, float(t_end), bundle.window_s)
        result = cascade.process(window)
        velocity = window_velocity_mm_s(window)
        rows.append((result.state, result.state != HealthState.NORMAL or result.anomalous,
                     result.anomaly_score, result.anomaly_threshold,
                     np.asarray(result.state_probabilities, float), result.fault_type,
                     np.nan if velocity is None else velocity,
                     int(simulator.truth(float(t_end)).state)))
        if progress is not None:
            progress.update(1)
    fault = spec.fault or {}
    return WindowStream(
        name=spec.name, kind="rig", t_s=t_ends,
        state=np.array([int(r[0]) for r in rows]), abnormal=np.array([bool(r[1]) for r in rows]),
        score=np.array([float(r[2]) for r in rows]),
        threshold=np.array([float(r[3]) for r in rows]),
        probabilities=np.stack([r[4] for r in rows]), fault=np.array([r[5] for r in rows]),
        velocity_mm_s=np.array([float(r[6]) for r in rows]),
        truth_state=np.array([r[7] for r in rows]),
        onset_s=float(fault.get("onset_s", np.nan)), end_s=float(fault.get("failure_s", np.nan)),
        description=(f"{fault['type']} at {fault['location']}, onset {fault['onset_s']:g} s, "
                     f"failure {fault['failure_s']:g} s, seed {spec.seed}") if fault
        else f"healthy, seed {spec.seed}")


def femto_stream(bearing, progress=None) -> WindowStream:
    """A FEMTO bearing as a stream of 10 s snapshots, state from the HI rule above."""
    acc_m_s2 = bearing.acc_g.astype(np.float64) * G  # (n, 2560, 2)
    rms = np.sqrt(np.mean(acc_m_s2 ** 2, axis=(1, 2)))
    n_base = max(1, round(FEMTO_BASELINE_FRACTION * rms.size))
    hi = rms / np.median(rms[:n_base])
    state = np.zeros(rms.size, int)
    for level, limit in enumerate(FEMTO_STATE_HI, start=1):
        state[hi >= limit] = level
    velocity = np.empty(rms.size)
    for i, snapshot in enumerate(acc_m_s2):
        velocity[i] = float(np.max(velocity_rms_mm_s(snapshot, bearing.fs)))
        if progress is not None:
            progress.update(1)
    abnormal = (state > 0) | (hi >= FEMTO_ANOMALY_HI)
    return WindowStream(
        name=bearing.name, kind="femto", t_s=bearing.t_s, state=state, abnormal=abnormal,
        score=hi, threshold=np.full(rms.size, FEMTO_ANOMALY_HI),
        probabilities=np.full((rms.size, 4), np.nan),
        fault=np.where(state > 0, "bearing_wear", "none"), velocity_mm_s=velocity,
        truth_state=np.full(rms.size, -1), onset_s=float("nan"), end_s=float(bearing.life_s),
        description=(f"FEMTO {bearing.name}, condition {bearing.condition} ({bearing.rpm} rpm, "
                     f"{bearing.load_n} N), {rms.size} snapshots over "
                     f"{bearing.life_s / 3600:.2f} h; HI baseline = first "
                     f"{FEMTO_BASELINE_FRACTION:.0%} of life"))
