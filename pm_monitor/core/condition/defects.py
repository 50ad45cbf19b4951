"""Bearing defect lines in an envelope spectrum -> fault type and bearing, with the evidence.

Defect frequencies are orders of the shaft speed (BPFO, BPFI, 2xBSF for a ball striking both
races, FTF), from the geometry (`core.signals.bearing`, the one kinematics implementation) or
given directly. A defect tone is evidence only where it is distinguishable:
- a harmonic that coincides (within the speed tolerance) with a shaft harmonic, or with a
  harmonic of another declared defect, is not evidence (it could be either);
- an inner-race defect is modulated by the shaft (the defect turns through the load zone), so
  BPFI lines with +-1x shaft sidebands count for more;
- the line must stand above its local spectral floor and above what the commissioning reference
  showed at the same order (`reference_snr`).
No tone standing out => "bearing fault, type uncertain" (ball faults often look like race faults;
uncertain beats a confident wrong name).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pm_monitor.core.condition.envelope import EnvelopeSpectrum
from pm_monitor.core.signals.bearing import BearingGeometry, defect_frequencies

FAULT_TYPES = ("outer_race", "inner_race", "ball", "cage")
UNCERTAIN = "bearing_type_uncertain"


@dataclass(frozen=True)
class DefectOrders:
    """Defect frequencies as multiples of the shaft frequency. `ball` is 2 x BSF (impact rate)."""

    outer_race: float
    inner_race: float
    ball: float
    cage: float

    @classmethod
    def from_geometry(cls, geometry: BearingGeometry) -> DefectOrders:
        f = defect_frequencies(1.0, geometry)
        return cls(outer_race=f.bpfo, inner_race=f.bpfi, ball=2.0 * f.bsf, cage=f.ftf)

    def order(self, fault_type: str) -> float:
        return float(getattr(self, fault_type))


@dataclass(frozen=True)
class LineEvidence:
    bearing: str
    fault_type: str
    harmonic: int
    frequency_hz: float
    snr: float  # peak over local floor (amplitude ratio)
    over_reference: float  # snr / the commissioning reference's snr at the same order


@dataclass(frozen=True)
class Diagnosis:
    """Fault type + bearing, or UNCERTAIN, with the lines that support it."""

    fault_type: str  # one of FAULT_TYPES or UNCERTAIN
    bearing: str  # "" when uncertain
    confidence: float  # strength of the winning type over the runner-up (log ratio); 0 if none
    evidence: tuple[LineEvidence, ...] = field(default_factory=tuple)
    scores: dict = field(default_factory=dict)  # "bearing/type" -> score

    def summary(self) -> str:
        if self.fault_type == UNCERTAIN:
            return "bearing fault, type uncertain (no defect tone stands out)"
        lines = ", ".join(f"{e.harmonic}x {e.frequency_hz:.1f} Hz snr {e.snr:.1f} "
                          f"({e.over_reference:.1f}x ref)" for e in self.evidence[:3])
        return f"{self.fault_type.replace('_', ' ')} fault on {self.bearing}: {lines}"


@dataclass(frozen=True)
class DiagnosisConfig:
    harmonics: int = 3
    speed_tolerance: float = 0.02  # relative search half-width (slip, speed error)
    min_snr: float = 3.0  # a line must stand this many times above its local floor
    min_over_reference: float = 2.0  # ... and this many times above the reference's ratio
    min_margin: float = 0.4  # natural-log margin of the winner's score over the runner-up
    # A localised defect makes impulsive, repetitive impacts: a named type needs a demodulation
    # band whose envelope is clearly non-Gaussian (spectral kurtosis; 0 for Gaussian noise).
    min_band_kurtosis: float = 0.5


def _peak(spec: EnvelopeSpectrum, freq: float, tol: float) -> tuple[float, float, float]:
    """(peak amplitude, its frequency, local floor) around `freq`."""
    f, a = spec.freqs_hz, spec.amplitude
    half = max(tol * freq, 1.5 * spec.resolution_hz)
    inside = (f >= freq - half) & (f <= freq + half)
    ring = (np.abs(f - freq) > 2 * half) & (np.abs(f - freq) < max(8 * half, 0.3 * freq))
    if not inside.any() or ring.sum() < 4:
        return 0.0, freq, np.inf
    i = np.flatnonzero(inside)[np.argmax(a[inside])]
    return float(a[i]), float(f[i]), float(np.median(a[ring]))


def _coincides(freq: float, others: list[float], tol: float, resolution: float) -> bool:
    return any(abs(freq - o) <= max(tol * freq, 2 * resolution) for o in others)


def line_snrs(spec: EnvelopeSpectrum, shaft_hz: float, bearings: dict[str, DefectOrders],
              config: DiagnosisConfig = DiagnosisConfig()) -> dict[str, list[float]]:
    """{"bearing/type": [snr of harmonic 1..H]} (nan where the line is not evidence)."""
    fmax = float(spec.freqs_hz[-1])
    shaft_lines = [k * shaft_hz for k in range(1, int(fmax / max(shaft_hz, 1e-6)) + 2)]
    all_lines = {(b, t): [h * o.order(t) * shaft_hz for h in range(1, config.harmonics + 1)]
                 for b, o in bearings.items() for t in FAULT_TYPES}
    out: dict[str, list[float]] = {}
    for (b, t), lines in all_lines.items():
        # Another type's lines (any bearing) or this type on a bearing with other orders:
        # a coinciding line could be either. Identical bearings share lines: the type is still
        # clear (the bearing is not; the first declared one is named).
        others = [f for (b2, t2), fs in all_lines.items()
                  if t2 != t or (b2 != b and bearings[b2].order(t) != bearings[b].order(t))
                  for f in fs]
        snrs = []
        for freq in lines:
            if (freq > 0.9 * fmax or _coincides(freq, shaft_lines, config.speed_tolerance,
                                                  spec.resolution_hz)
                    or _coincides(freq, others, config.speed_tolerance, spec.resolution_hz)):
                snrs.append(float("nan"))
                continue
            amp, _, floor = _peak(spec, freq, config.speed_tolerance)
            snrs.append(amp / floor if floor > 0 else float("nan"))
        out[f"{b}/{t}"] = snrs
    return out


def diagnose(spec: EnvelopeSpectrum, shaft_hz: float, bearings: dict[str, DefectOrders],
             reference_snr: dict[str, list[float]] | None = None,
             config: DiagnosisConfig = DiagnosisConfig(),
             band_kurtosis: float = float("inf")) -> Diagnosis:
    """Name the fault type and bearing whose defect lines stand out most, or UNCERTAIN."""
    snrs = line_snrs(spec, shaft_hz, bearings, config)
    scores: dict[str, float] = {}
    evidence: dict[str, list[LineEvidence]] = {}
    for key, values in snrs.items():
        b, t = key.split("/")
        ref = (reference_snr or {}).get(key, [1.0] * len(values))
        lines, logs = [], []
        for h, (snr, r) in enumerate(zip(values, ref, strict=False), start=1):
            if not np.isfinite(snr):
                continue
            r = r if np.isfinite(r) and r > 0 else 1.0
            over = snr / max(r, 1.0)
            strong = snr >= config.min_snr and over >= config.min_over_reference
            logs.append(np.log(max(snr, 1e-3)) if strong else 0.0)
            if strong:
                lines.append(LineEvidence(b, t, h, h * bearings[b].order(t) * shaft_hz,
                                          snr, over))
        score = float(np.sum(logs)) / config.harmonics if logs else 0.0
        if t == "inner_race" and lines:  # shaft sidebands around the first strong line
            f0 = lines[0].frequency_hz
            side = [_peak(spec, f0 + s * shaft_hz, config.speed_tolerance) for s in (-1, 1)]
            side_snr = [a / fl for a, _, fl in side if np.isfinite(fl) and fl > 0]
            if side_snr and max(side_snr) >= config.min_snr:
                score += np.log(max(side_snr)) / config.harmonics
        scores[key] = score
        evidence[key] = lines
    ranked = sorted(scores, key=scores.get, reverse=True)
    best = ranked[0]
    runner = scores[ranked[1]] if len(ranked) > 1 else 0.0
    margin = scores[best] - runner
    if (scores[best] <= 0.0 or margin < config.min_margin or not evidence[best]
            or band_kurtosis < config.min_band_kurtosis):
        return Diagnosis(UNCERTAIN, "", 0.0, (), scores)
    b, t = best.split("/")
    return Diagnosis(t, b, float(margin), tuple(evidence[best]), scores)
