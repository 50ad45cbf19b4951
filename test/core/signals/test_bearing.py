"""Bearing defect frequencies against the published CWRU values (SKF 6205, per shaft Hz)."""
import math

import pytest

from pm_monitor.core.signals.bearing import BearingGeometry, defect_frequencies

# Case Western Reserve University bearing data centre, drive-end bearing 6205-2RS JEM SKF:
# defect frequencies as multiples of the shaft speed.
CWRU_6205 = {"bpfo": 3.5848, "bpfi": 5.4152, "bsf": 2.3570, "ftf": 0.3983}


@pytest.mark.parametrize("shaft_hz", [1.0, 29.95, 28.83])
def test_defect_frequencies_match_cwru_multiples(shaft_hz):
    freqs = defect_frequencies(shaft_hz, BearingGeometry())
    for name, multiple in CWRU_6205.items():
        assert getattr(freqs, name) == pytest.approx(multiple * shaft_hz, rel=2e-4), name


def test_kinematic_identities_hold_for_any_geometry():
    geometry = BearingGeometry(n_balls=12, ball_diameter_mm=10.0, pitch_diameter_mm=55.0,
                               contact_angle_deg=15.0)
    shaft_hz = 25.0
    freqs = defect_frequencies(shaft_hz, geometry)
    # Outer and inner race pass rates add up to n times the shaft rate ...
    assert freqs.bpfo + freqs.bpfi == pytest.approx(geometry.n_balls * shaft_hz)
    # ... and the outer-race pass rate is n times the cage rate.
    assert freqs.bpfo == pytest.approx(geometry.n_balls * freqs.ftf)


def test_contact_angle_moves_frequencies_towards_the_zero_ball_limit():
    flat = defect_frequencies(30.0, BearingGeometry(contact_angle_deg=0.0))
    angled = defect_frequencies(30.0, BearingGeometry(contact_angle_deg=40.0))
    assert angled.bpfo > flat.bpfo
    assert angled.bpfi < flat.bpfi
    assert angled.ftf > flat.ftf


def test_characteristic_frequency_per_fault_type():
    freqs = defect_frequencies(29.95, BearingGeometry())
    assert freqs.characteristic_hz("outer_race") == freqs.bpfo
    assert freqs.characteristic_hz("inner_race") == freqs.bpfi
    assert freqs.characteristic_hz("ball") == 2.0 * freqs.bsf
    with pytest.raises(ValueError, match="none"):
        freqs.characteristic_hz("none")


def test_zero_speed_gives_zero_frequencies():
    freqs = defect_frequencies(0.0, BearingGeometry())
    assert (freqs.bpfo, freqs.bpfi, freqs.bsf, freqs.ftf) == (0.0, 0.0, 0.0, 0.0)


def test_diameter_ratio_includes_contact_angle():
    geometry = BearingGeometry(contact_angle_deg=60.0)
    assert geometry.diameter_ratio == pytest.approx(7.94 / 39.04 * math.cos(math.radians(60)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_balls": 0}, "n_balls"),
        ({"n_balls": 9.0}, "n_balls"),
        ({"ball_diameter_mm": 40.0}, "ball_diameter_mm"),
        ({"ball_diameter_mm": -1.0}, "ball_diameter_mm"),
        ({"contact_angle_deg": 90.0}, "contact_angle_deg"),
    ],
)
def test_invalid_geometry_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BearingGeometry(**kwargs)


def test_negative_shaft_speed_is_rejected():
    with pytest.raises(ValueError, match="shaft_hz"):
        defect_frequencies(-1.0, BearingGeometry())
