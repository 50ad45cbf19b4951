"""Rolling-element bearing kinematics: the characteristic defect frequencies.

A localised defect on a bearing surface produces one short impact every time a rolling
element passes over it. The impact rates follow from the bearing geometry (rigid-body
kinematics, no slip):

    FTF  = f_r / 2 * (1 - (d/D) cos α)                    cage (fundamental train)
    BPFO = n f_r / 2 * (1 - (d/D) cos α)                  ball pass, outer race
    BPFI = n f_r / 2 * (1 + (d/D) cos α)                  ball pass, inner race
    BSF  = D / (2 d) * f_r * (1 - ((d/D) cos α)^2)        ball spin

with f_r the shaft (inner ring) speed in Hz, n the number of rolling elements, d the ball
diameter, D the pitch diameter and α the contact angle. A ball defect strikes both races once
per spin revolution, so its impacts repeat at 2 * BSF.

Shared by the simulated rig (where to put the impulses) and by feature extraction (where to
look in the envelope spectrum).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry of a deep-groove ball bearing. Defaults: SKF 6205-2RS (CWRU drive end)."""

    n_balls: int = 9
    ball_diameter_mm: float = 7.94
    pitch_diameter_mm: float = 39.04
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n_balls, bool) or not isinstance(self.n_balls, int):
            raise ValueError(f"n_balls must be an int, got {self.n_balls!r}")
        if self.n_balls < 1:
            raise ValueError(f"n_balls must be >= 1, got {self.n_balls}")
        if not 0.0 < self.ball_diameter_mm < self.pitch_diameter_mm:
            raise ValueError(
                "need 0 < ball_diameter_mm < pitch_diameter_mm, got "
                f"{self.ball_diameter_mm} and {self.pitch_diameter_mm}"
            )
        if not 0.0 <= self.contact_angle_deg < 90.0:
            raise ValueError(f"contact_angle_deg must be in [0, 90), got {self.contact_angle_deg}")

    @property
    def diameter_ratio(self) -> float:
        """(d / D) cos α: the dimensionless number all defect frequencies depend on."""
        return (
            self.ball_diameter_mm
            / self.pitch_diameter_mm
            * math.cos(math.radians(self.contact_angle_deg))
        )


@dataclass(frozen=True)
class DefectFrequencies:
    """Characteristic bearing frequencies in Hz at one shaft speed."""

    bpfo: float
    bpfi: float
    bsf: float
    ftf: float

    def characteristic_hz(self, fault_type: str) -> float:
        """Impact rate of a fault type: outer_race -> BPFO, inner_race -> BPFI, ball -> 2 BSF."""
        if fault_type == "outer_race":
            return self.bpfo
        if fault_type == "inner_race":
            return self.bpfi
        if fault_type == "ball":
            return 2.0 * self.bsf
        raise ValueError(f"no defect frequency for fault type {fault_type!r}")


def defect_frequencies(shaft_hz: float, geometry: BearingGeometry) -> DefectFrequencies:
    """Defect frequencies (Hz) of `geometry` with the inner ring turning at `shaft_hz` (Hz)."""
    if shaft_hz < 0.0:
        raise ValueError(f"shaft_hz must be >= 0, got {shaft_hz}")
    ratio = geometry.diameter_ratio
    half_rate = 0.5 * shaft_hz
    return DefectFrequencies(
        bpfo=geometry.n_balls * half_rate * (1.0 - ratio),
        bpfi=geometry.n_balls * half_rate * (1.0 + ratio),
        bsf=geometry.pitch_diameter_mm
        / (2.0 * geometry.ball_diameter_mm)
        * shaft_hz
        * (1.0 - ratio**2),
        ftf=half_rate * (1.0 - ratio),
    )
