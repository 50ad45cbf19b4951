"""Configuration of the feature extractor (stored in the model bundle so the live node extracts
exactly what the models were trained on)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pm_monitor.core.signals.bearing import BearingGeometry


@dataclass(frozen=True)
class FeatureConfig:
    """What to compute and where to look.

    shaft_hz: nominal shaft speed; the defect frequencies are computed from it once.
    resonance_band_hz: band around the structural resonance that bearing impacts excite; the
        envelope is taken of the accelerometer signal band-passed to it.
    envelope_max_hz: the envelope spectrum's median (the "no defect" reference level) is taken
        over [1 Hz, envelope_max_hz].
    min_coverage: a stream window covering less than this fraction (gaps) gives no features.
    """

    shaft_hz: float = 29.95  # the simulated rig (CWRU-like motor at 1797 rpm)
    bearing: BearingGeometry = field(default_factory=BearingGeometry)
    resonance_band_hz: tuple[float, float] = (2000.0, 4000.0)  # rig housing mode at 3 kHz
    envelope_max_hz: float = 1000.0
    envelope_harmonics: int = 1  # higher harmonics of BPFO overlap those of BPFI (3x107 ~ 2x162)
    envelope_tolerance: float = 0.02
    spectral_kurtosis_nperseg: int = 64  # shorter than an impact period (BPFI 160 Hz: 160 samples)
    mic_bands_hz: tuple[tuple[float, float], ...] = (
        (20.0, 500.0),
        (500.0, 2000.0),
        (2000.0, 5000.0),
        (5000.0, 8000.0),
    )
    accel_axes: tuple[str, ...] = ("x", "y", "z")
    min_coverage: float = 0.95

    def __post_init__(self) -> None:
        lo, hi = self.resonance_band_hz
        if not 0.0 < lo < hi:
            raise ValueError(f"resonance_band_hz must be 0 < lo < hi, got {self.resonance_band_hz}")
        if self.shaft_hz <= 0.0:
            raise ValueError(f"shaft_hz must be > 0, got {self.shaft_hz}")
        if not 0.0 < self.min_coverage <= 1.0:
            raise ValueError(f"min_coverage must be in (0, 1], got {self.min_coverage}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """Inverse of to_dict (JSON turns tuples into lists; undo that)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown feature config keys: {sorted(unknown)}")
        values = dict(data)
        if "bearing" in values:
            values["bearing"] = BearingGeometry(**values["bearing"])
        for key in ("resonance_band_hz", "accel_axes"):
            if key in values:
                values[key] = tuple(values[key])
        if "mic_bands_hz" in values:
            values["mic_bands_hz"] = tuple(tuple(band) for band in values["mic_bands_hz"])
        return cls(**values)
