import math

import pytest

from pm_monitor.core.explain.feature_units import to_physical, to_relative


@pytest.mark.parametrize(("name", "stored", "value", "unit"), [
    ("accel_x.rms", 0.0, 1.0, "m/s^2"),
    ("accel_y.peak", 1.0, 10.0, "m/s^2"),
    ("accel_z.kurtosis", math.log(3.0), 3.0, ""),
    ("accel_x.spectral_kurtosis", math.log(2.0), 0.0, ""),
    ("accel_x.env_bpfo", math.log(5.0), 5.0, "x median"),
    ("mic.band_500_2000hz", -2.0, 0.01, "Pa^2"),
    ("thermal.max_c", 55.5, 55.5, "degC"),
    ("thermal.contrast", math.log1p(4.0), 4.0, "K"),
])
def test_inverts_the_extractor_compression(name, stored, value, unit):
    physical = to_physical(name, stored)
    assert physical.value == pytest.approx(value)
    assert physical.unit == unit


def test_unknown_feature_is_passed_through_and_overflow_is_inf():
    assert to_physical("fusion.embedding_3", 1.5).unit == "feature units"
    assert to_physical("accel_x.rms", 1e6).value == math.inf


@pytest.mark.parametrize(("name", "stored", "factor"), [
    ("horizontal.rms", 0.3, 10 ** 0.3),  # log10 amplitude minus its baseline
    ("vertical.band_11", -1.0, 0.1),
    ("horizontal.tke", 1.0, 10.0),
    ("vertical.kurtosis", math.log(2.5), 2.5),  # natural log ratio
    ("horizontal.env_bpfo_h2", math.log(4.0), 4.0),
])
def test_baseline_relative_features_read_as_factors_of_the_baseline(name, stored, factor):
    relative = to_relative(name, stored)
    assert relative.value == pytest.approx(factor) and relative.unit == "x baseline"
    assert to_relative("horizontal.rms", 1e6).value == math.inf
