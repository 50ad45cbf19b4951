"""Acceleration units: one table, exact factors, unknown units refused (not guessed)."""
from __future__ import annotations

import pytest

from pm_monitor.core.acceleration_units import STANDARD_GRAVITY_M_S2, acceleration_scale


def test_g_and_si_convert_both_ways_exactly():
    assert acceleration_scale("g", "m/s^2") == STANDARD_GRAVITY_M_S2
    assert acceleration_scale("m/s^2", "g") == pytest.approx(1 / STANDARD_GRAVITY_M_S2)
    assert acceleration_scale(" m/s2 ", "m s^-2") == 1.0


@pytest.mark.parametrize("unit", ["furlong", "", "Pa"])
def test_unknown_unit_is_named_in_the_error(unit):
    with pytest.raises(ValueError, match="unknown acceleration unit"):
        acceleration_scale(unit, "g")
