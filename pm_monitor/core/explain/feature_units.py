"""Feature values back in physical units, for people reading a counterfactual.

The feature extractor compresses values (see core/features/extractor.py): log10 for vibration
amplitudes, Teager-Kaiser energy and microphone band powers, ln for ratios and moments,
ln(1 + x) for the thermal contrast, linear for temperatures. This module inverts that and names
the unit; it knows the extractor's naming scheme "<sensor>.<feature>".
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

_BY_FEATURE: dict[str, tuple[str, str]] = {
    # feature: (inverse, unit)
    "rms": ("pow10", "m/s^2"),
    "peak": ("pow10", "m/s^2"),
    "tke": ("pow10", "(m/s^2)^2"),
    "crest": ("exp", "ratio"),
    "kurtosis": ("exp", ""),
    "spectral_kurtosis": ("exp_minus_2", ""),  # ln(sk + 2) was stored
    "env_bpfo": ("exp", "x median"),
    "env_bpfi": ("exp", "x median"),
    "env_2bsf": ("exp", "x median"),
    "max_c": ("linear", "degC"),
    "mean_c": ("linear", "degC"),
    "contrast": ("expm1", "K"),
}
_INVERSES = {
    "pow10": lambda v: 10.0 ** v,
    "exp": math.exp,
    "exp_minus_2": lambda v: math.exp(v) - 2.0,
    "expm1": math.expm1,
    "linear": lambda v: v,
}


@dataclass(frozen=True)
class PhysicalValue:
    value: float
    unit: str

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.value:.4g}{unit}"


def to_physical(feature_name: str, value: float) -> PhysicalValue:
    """An extractor feature value (not standardised) in physical units; unknown names are
    returned unchanged with the unit "feature units"."""
    sensor, _, feature = feature_name.partition(".")
    if sensor == "mic" and feature.startswith("band_"):
        inverse, unit = "pow10", "Pa^2"
    elif feature in _BY_FEATURE:
        inverse, unit = _BY_FEATURE[feature]
    else:
        return PhysicalValue(float(value), "feature units")
    try:
        return PhysicalValue(float(_INVERSES[inverse](float(value))), unit)
    except OverflowError:
        return PhysicalValue(math.inf, unit)


# Features of the FEMTO feature set (core/features/bearing_window.py) stored as log10 of an
# amplitude or power; every other one is a natural log (ratios, moments, envelope peaks).
_LOG10_RELATIVE = ("rms", "peak", "tke")
UnitReader = Callable[[str, float], PhysicalValue]


def to_relative(feature_name: str, value: float) -> PhysicalValue:
    """A baseline-relative log feature (the feature minus its commissioning-baseline mean, as
    the real-data profile computes them) as a factor of the baseline, e.g. "1.8 x baseline"."""
    _, _, feature = feature_name.partition(".")
    base = re.sub(r"_h\d+$", "", feature)  # env_bpfo_h2: the second harmonic's peak
    log10 = base in _LOG10_RELATIVE or base.startswith("band_")
    try:
        factor = 10.0 ** float(value) if log10 else math.exp(float(value))
    except OverflowError:
        factor = math.inf
    return PhysicalValue(factor, "x baseline")
