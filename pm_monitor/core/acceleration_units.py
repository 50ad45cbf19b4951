"""Physical units of acceleration inputs: one table, used wherever a chunk's unit is checked.

A SensorChunk names its unit; models are trained in one (the rig in m/s^2, the FEMTO models in
g). Converting at the input is exact (a scale factor); guessing is not, so an unknown unit is
an error, never a silent mis-scaling.
"""
from __future__ import annotations

STANDARD_GRAVITY_M_S2 = 9.80665
# Spellings drivers use for the same unit -> metres per second squared per unit.
ACCELERATION_UNITS_M_S2: dict[str, float] = {
    "m/s^2": 1.0, "m/s2": 1.0, "m s^-2": 1.0, "m/s/s": 1.0,
    "g": STANDARD_GRAVITY_M_S2, "g0": STANDARD_GRAVITY_M_S2,
}


def acceleration_scale(unit: str, target: str) -> float:
    """Factor that turns values in `unit` into `target`; ValueError naming an unknown unit."""
    known = sorted(ACCELERATION_UNITS_M_S2)
    source, goal = unit.strip(), target.strip()
    for name in (source, goal):
        if name not in ACCELERATION_UNITS_M_S2:
            raise ValueError(f"unknown acceleration unit {name!r} (known: {', '.join(known)})")
    return ACCELERATION_UNITS_M_S2[source] / ACCELERATION_UNITS_M_S2[goal]
