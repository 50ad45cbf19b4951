
from pm_monitor.core.condition.defects import UNCERTAIN, DefectOrders, diagnose
from pm_monitor.core.condition.envelope import envelope_spectrum, select_band
from pm_monitor.core.signals.bearing import BearingGeometry

RATE, SHAFT = 20000.0, 29.95
SKF_6205 = DefectOrders.from_geometry(BearingGeometry(9, 7.94, 39.04))


def _spectrum(x):
    band = select_band(x, RATE, min_bandwidth_hz=2000.0)
    return envelope_spectrum(x, RATE, band, max_freq_hz=700.0)


def test_orders_from_geometry_match_the_cwru_table():
    assert abs(SKF_6205.inner_race - 5.4152) < 1e-3
    assert abs(SKF_6205.outer_race - 3.5848) < 1e-3
    assert abs(SKF_6205.ball - 4.7135) < 1e-3  # 2 x BSF, CWRU's convention


def test_outer_race_impacts_are_named_with_evidence(bearing_signal):
    x = bearing_signal(RATE, 1.0, SKF_6205.outer_race * SHAFT, SHAFT, noise_g=0.1)
    spec = _spectrum(x)
    d = diagnose(spec, SHAFT, {"de": SKF_6205}, band_kurtosis=spec.band.kurtosis)
    assert (d.fault_type, d.bearing) == ("outer_race", "de")
    assert d.evidence[0].harmonic == 1
    assert abs(d.evidence[0].frequency_hz - SKF_6205.outer_race * SHAFT) < 1.0
    assert "outer race" in d.summary()


def test_inner_race_with_shaft_modulation_is_named(bearing_signal):
    x = bearing_signal(RATE, 1.0, SKF_6205.inner_race * SHAFT, SHAFT, noise_g=0.1,
                       shaft_modulation=0.6)
    spec = _spectrum(x)
    assert diagnose(spec, SHAFT, {"de": SKF_6205}).fault_type == "inner_race"


def test_noise_alone_is_uncertain_not_a_confident_name(bearing_signal):
    x = bearing_signal(RATE, 1.0, None, SHAFT, noise_g=0.1, seed=3)
    spec = _spectrum(x)
    assert diagnose(spec, SHAFT, {"de": SKF_6205}, band_kurtosis=spec.band.kurtosis
                    ).fault_type == UNCERTAIN


def test_a_tone_that_is_also_a_shaft_harmonic_is_not_evidence(bearing_signal):
    # a bearing whose outer-race order is exactly 4: its lines are shaft harmonics
    fake = DefectOrders(outer_race=4.0, inner_race=6.3, ball=5.1, cage=0.4)
    x = bearing_signal(RATE, 1.0, 4.0 * SHAFT, SHAFT, noise_g=0.1)
    assert diagnose(_spectrum(x), SHAFT, {"b": fake}).fault_type != "outer_race"
