"""One asset, judged by physics against its own commissioning reference.

`AssetMonitor.process` takes a window of 1..N accelerometer axes at any supported rate and
returns an `Assessment`: health state, health indicator (level over the reference), anomaly
distance over the reference model's threshold, ISO zone, shaft speed and, when the signal says
so, the bearing fault type with its evidence. While commissioning runs, windows feed the
reference (stored after every window, so a restart or the robot's next visit resumes) and the
state is judged by ISO zones only.

Rates: from features.MIN_RATE_HZ (2222 Hz, the ISO velocity band; below it the monitor is
refused) every asset gets ISO severity and its level / anomaly against its own reference. What
a low rate cannot observe is switched off, not faked, and said (`unavailable`: commissioning
summaries, /diagnostics, the evidence of a window that deviates):
- the acceleration bands above 0.45 x the rate;
- below BEARING_RULES_MIN_RATE_HZ (4889 Hz, the 1-2.2 kHz band where bearing impacts start to
  ring) the bearing-damage rules of the state machine (level over the reference, level and
  crest rises, defect tones): the state comes from the ISO zones (with the isolated-impact
  guard), the deviation from the reference is reported (advisory). Measured on FEMTO decimated
  to 2.56 kHz (results/any_machine/low_rate.md), those rules on broadband RMS alone alarmed in
  the first half of life (Bearing1_1 at 35 %: its 10-1150 Hz RMS doubled with no damage);
- below the rate the envelope's demodulation band needs (envelope.min_rate_hz for the asset's
  defect orders at its highest declared speed) the defect-tone diagnosis: the fault type is
  unknown. Between that rate and BEARING_RULES_MIN_RATE_HZ a named type is reported in the
  evidence of a deviating window but raises nothing (the tone rules are bearing rules).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pm_monitor.core.alarms.severity_zones import IsoZone, ZoneTable
from pm_monitor.core.assets.description import AssetDescription
from pm_monitor.core.condition import defects, envelope, features, reference, shaft_speed
from pm_monitor.core.condition.health import (
    HealthRules,
    HealthStateMachine,
    axis_levels,
    level_features,
)
from pm_monitor.core.types import HealthState

MAX_ENVELOPE_HZ_ORDERS = 3.5  # envelope spectrum up to 3.5 x the highest defect order x speed
# The lowest rate observing the band where bearing impacts start to ring (module doc).
BEARING_RULES_MIN_RATE_HZ = features.BEARING_BAND_HZ[1] / features.USABLE_FRACTION


@dataclass(frozen=True)
class Assessment:
    state: HealthState
    commissioning: bool
    progress: float  # commissioning progress 0..1
    health_indicator: float  # level over the reference (nan while commissioning)
    anomaly: float  # anomaly distance / reference threshold (> 1: anomalous); nan commissioning
    impulsive: bool
    velocity_mm_s: float
    zone: IsoZone
    shaft_hz: float
    diagnosis: defects.Diagnosis | None
    summary: str
    # robust z of each log feature against the reference ("axis/feature" order of
    # AssetMonitor.feature_labels); empty while commissioning
    z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # per-axis level over the reference and the trend rise (min over axes of the level over the
    # lowest level sustained since commissioning; health.py); empty / nan while commissioning
    axis_levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rise: float = float("nan")
    # per-axis crest factor over the reference's and its rise (health.py); nan commissioning
    axis_crest: np.ndarray = field(default_factory=lambda: np.zeros(0))
    crest_rise: float = float("nan")

    @property
    def anomalous(self) -> bool:
        return bool(np.isfinite(self.anomaly) and self.anomaly > 1.0)


class AssetMonitor:
    """Per-asset commissioning + physics rules. Not thread-safe (one per asset per node)."""

    def __init__(self, asset: AssetDescription, axes: list[str], rate_hz: float,
                 store: reference.ReferenceStore | None = None,
                 rules: HealthRules | None = None,
                 diagnosis_config: defects.DiagnosisConfig | None = None) -> None:
        features.check_rate(rate_hz)
        self.asset, self.axes, self.rate_hz = asset, list(axes), float(rate_hz)
        self.store, self.rules = store, rules or HealthRules()
        self.diagnosis_config = diagnosis_config or defects.DiagnosisConfig()
        self.names = list(features.feature_names(rate_hz))
        self.zones = ZoneTable.iso_10816_3(asset.iso_group, asset.iso_foundation)
        self.machine = HealthStateMachine(self.rules)
        self._levels = level_features(self.names, self.rules.hf_band_min_hz)
        self.bearing_rules = self.rate_hz >= BEARING_RULES_MIN_RATE_HZ
        speed = asset.shaft_speed
        # the envelope's demodulation band at the highest speed the asset declares
        self.envelope_min_rate_hz = envelope.min_rate_hz(
            self._envelope_bandwidth_hz(speed.nominal_hz * (1 + speed.search_fraction)))
        self._speed = shaft_speed.SpeedTracker(self.rate_hz, speed.nominal_hz,
                                               speed.search_fraction)
        top_order = max(max(o.inner_race, o.outer_race, o.ball) for o in asset.bearings.values())
        self.max_envelope_hz = MAX_ENVELOPE_HZ_ORDERS * top_order * asset.shaft_speed.nominal_hz \
            * (1 + asset.shaft_speed.search_fraction)
        loaded = store.load(asset.asset_id) if store is not None else None
        if loaded is not None:
            builder = reference.ReferenceBuilder(loaded)
            why = builder.compatible(rate_hz, self.axes, self.names)
            if why:
                raise ValueError(f"stored reference of {asset.asset_id} does not fit: {why}; "
                                 "reset commissioning to learn it again")
            self.builder = builder
        else:
            self.builder = self._new_builder()

    def _new_builder(self) -> reference.ReferenceBuilder:
        return reference.ReferenceBuilder.new(self.asset.asset_id, self.rate_hz, self.axes,
                                              self.names, self.asset.commissioning_s)

    @property
    def reference(self) -> reference.Reference:
        return self.builder.reference

    @property
    def feature_labels(self) -> list[str]:
        return [f"{axis}/{name}" for axis in self.axes for name in self.names]

    @property
    def commissioned(self) -> bool:
        return self.reference.complete

    def reset(self) -> None:
        """Forget the reference (after maintenance) and start commissioning again."""
        if self.store is not None:
            self.store.reset(self.asset.asset_id)
        self.builder = self._new_builder()
        self.machine.reset()
        self._speed.reset()

    def restart_states(self) -> None:
        """Clear the latched health state and the speed history, keeping the reference (a new
        run of the asset)."""
        self.machine.reset()
        self._speed.reset()

    def shaft_hz(self, samples: np.ndarray, given_rpm: float | None,
                 new_s: float | None = None, gapped: bool = False) -> float:
        speed = self.asset.shaft_speed
        if given_rpm is not None and np.isfinite(given_rpm) and given_rpm > 0:
            return float(given_rpm) / 60.0
        if speed.source == "estimated":  # over the last seconds of the stream (SpeedTracker)
            # a stretch cut out of a window with lost samples does not continue the stream:
            # the estimate stays on the history received so far (on the stretch, if none)
            return self._speed.update(samples[:, 0], 0.0 if gapped else new_s).shaft_hz
        return speed.nominal_hz

    @property
    def unavailable(self) -> tuple[str, ...]:
        """What this stream's rate cannot analyse, in words an operator reads (empty: all)."""
        out = []
        missing = features.missing_bands(self.rate_hz)
        if missing:
            bands = ", ".join(f"{lo / 1e3:g}-{hi / 1e3:g} kHz" for lo, hi in missing)
            out.append(f"bands reaching above {features.USABLE_FRACTION * self.rate_hz:.0f} "
                       f"Hz not observed ({bands})")
        if not self.bearing_rules:
            out.append(self._bearing_rules_off())
        if self.rate_hz < self.envelope_min_rate_hz:
            out.append(self._envelope_off(self.envelope_min_rate_hz))
        return tuple(out)

    def _bearing_rules_off(self) -> str:
        lo, hi = features.BEARING_BAND_HZ
        return (f"bearing-damage rules off (level, rises, defect tones): the {lo / 1e3:g}-"
                f"{hi / 1e3:g} kHz band needs >= {BEARING_RULES_MIN_RATE_HZ:.0f} Hz, stream is "
                f"{self.rate_hz:.0f} Hz; state from ISO 10816-3 zones, deviation advisory")

    def _envelope_off(self, needed_hz: float) -> str:
        return (f"fault type unknown: envelope analysis needs >= {needed_hz:.0f} Hz, stream is "
                f"{self.rate_hz:.0f} Hz")

    def _envelope_bandwidth_hz(self, shaft_hz: float) -> float:
        """The demodulation band's width: twice the highest defect line analysed (harmonics x
        the highest race order, plus a shaft sideband), at least 1 kHz."""
        cfg = self.diagnosis_config
        top = max(max(o.inner_race, o.outer_race) for o in self.asset.bearings.values())
        return max(2.0 * (cfg.harmonics * top + 1.0) * shaft_hz, 1000.0)

    def envelope_off(self, shaft_hz: float) -> str:
        """Why no envelope is taken at this speed ('' when it is): the rate is below what the
        demodulation band needs at the asset's highest declared speed (`envelope_min_rate_hz`:
        one figure for the asset, whatever this window's estimate), or at this speed when it
        is faster (e.g. a tachometer's)."""
        needed = max(self.envelope_min_rate_hz,
                     envelope.min_rate_hz(self._envelope_bandwidth_hz(shaft_hz)))
        return self._envelope_off(needed) if self.rate_hz < needed else ""

    def _envelope(self, x: np.ndarray, shaft_hz: float) -> envelope.EnvelopeSpectrum:
        band = envelope.select_band(x, self.rate_hz, self._envelope_bandwidth_hz(shaft_hz))
        return envelope.envelope_spectrum(x, self.rate_hz, band, self.max_envelope_hz)

    def _line_snrs(self, data_g: np.ndarray, shaft_hz: float):
        """Per axis the envelope spectrum and its defect-line ratios (both empty when the rate
        cannot carry the demodulation band: `envelope_off`)."""
        spectra, snrs = {}, {}
        if self.envelope_off(shaft_hz):
            return spectra, snrs
        for i, axis in enumerate(self.axes):
            spec = self._envelope(data_g[:, i], shaft_hz)
            spectra[axis] = spec
            for key, values in defects.line_snrs(spec, shaft_hz, self.asset.bearings_of(axis),
                                                  self.diagnosis_config).items():
                snrs[f"{axis}/{key}"] = values
        return spectra, snrs

    def process(self, samples: np.ndarray, unit: str | None = None,
                shaft_rpm: float | None = None, new_s: float | None = None,
                gapped: bool = False) -> Assessment:
        """Judge one window (n, n_axes) in `unit` (default: the asset's unit). `new_s`: seconds
        of samples not seen in an earlier window (overlapping windows; default: all of it),
        which is what commissioning progress counts. `gapped`: the samples are the longest
        received stretch of a window that lost some (they do not continue the stream)."""
        data = np.asarray(samples, dtype=np.float64)
        data = data[:, None] if data.ndim == 1 else data
        win = features.window_features(data, self.rate_hz, tuple(self.axes),
                                       unit or self.asset.unit)
        data_g = data * features.acceleration_scale(unit or self.asset.unit, "g")
        velocity = float(np.nanmax(win.values[:, self.names.index("velocity_rms_mm_s")]))
        zone = self.zones.classify(velocity)
        shaft_hz = self.shaft_hz(data_g, shaft_rpm, new_s, gapped)
        duration = data.shape[0] / self.rate_hz if new_s is None else float(new_s)
        if not self.commissioned:
            _, snrs = self._line_snrs(data_g, shaft_hz)
            done = self.builder.add(win.values, duration, snrs)
            if self.store is not None:
                self.store.save_progress(self.reference)
            state = self.machine.update(None, False, False, zone)
            # the completing window taught the reference too: it is not judged against it
            return Assessment(state, True, self.reference.progress, float("nan"),
                              float("nan"), False, velocity, zone, shaft_hz, None,
                              f"commissioning {self.reference.progress:.0%}"
                              + (" (complete)" if done else "")
                              + f"; ISO zone {zone.label or '?'} only"
                              + "".join(f"; {u}" for u in self.unavailable))
        ref = self.reference
        levels = np.exp(np.asarray(ref.median)).reshape(len(self.axes), len(self.names))
        per_axis = axis_levels(win.values, levels, self._levels)
        hi = float(np.max(per_axis))
        kurt, crest_i = self.names.index("kurtosis"), self.names.index("crest")
        crest = win.values[:, crest_i] / np.maximum(levels[:, crest_i], 1e-12)
        impulsive = bool(np.any(win.values[:, kurt] > self.rules.impulsive_kurtosis_ratio
                                * levels[:, kurt]))
        anomaly = reference.anomaly_distance(ref, win.values) / max(ref.threshold, 1e-9)
        # Envelope analysis only when the level or the anomaly model says something changed: a
        # healthy window has no defect to name, and the kurtogram is the costly step.
        diagnosis, envelope_off = None, ""
        if (hi >= self.rules.pre_warning_ratio or anomaly > 1.0
                or self.machine.state != HealthState.NORMAL):
            envelope_off = self.envelope_off(shaft_hz)
            spectra, _ = self._line_snrs(data_g, shaft_hz)
            diagnosis = self._diagnose(spectra, shaft_hz) if spectra else None
        named = diagnosis is not None and diagnosis.fault_type != defects.UNCERTAIN
        state = self.machine.update(hi, impulsive, named, zone, per_axis, crest,
                                    anomalous=anomaly > 1.0, bearing_rules=self.bearing_rules)
        summary = f"level {hi:.1f}x reference, anomaly {anomaly:.1f}x threshold"
        if not self.bearing_rules and (hi >= self.rules.pre_warning_ratio or anomaly > 1.0):
            summary += "; " + self._bearing_rules_off()  # why a deviation raises nothing
        if self.machine.rise >= self.rules.trend_ratio:  # say so when the trend rule speaks
            summary += f"; every axis {self.machine.rise:.1f}x its lowest sustained level"
        if self.machine.crest_rise >= self.rules.crest_trend_ratio:
            summary += f"; crest factor on every axis {self.machine.crest_rise:.1f}x its lowest"
        if diagnosis is not None:
            summary += "; " + diagnosis.summary()
        elif envelope_off:  # something changed, and the rate cannot say what
            summary += "; " + envelope_off
        return Assessment(state, False, 1.0, hi, anomaly, impulsive, velocity, zone, shaft_hz,
                          diagnosis, summary, reference.robust_z(ref, win.values), per_axis,
                          self.machine.rise, crest, self.machine.crest_rise)

    def _diagnose(self, spectra: dict, shaft_hz: float) -> defects.Diagnosis:
        """The most confident axis's diagnosis against the reference's line ratios."""
        best = None
        for axis, spec in spectra.items():
            prefix = f"{axis}/"
            ref_snr = {k[len(prefix):]: v for k, v in self.reference.line_snr_median.items()
                       if k.startswith(prefix)}
            d = defects.diagnose(spec, shaft_hz, self.asset.bearings_of(axis), ref_snr,
                                 self.diagnosis_config, band_kurtosis=spec.band.kurtosis)
            if best is None or d.confidence > best.confidence:
                best = d
        return best
