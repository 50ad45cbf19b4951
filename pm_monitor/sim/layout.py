"""Where things are in the images: one layout shared by the thermal and the visible camera.

Both cameras are assumed co-registered (same viewpoint and field of view), so a housing has
the same *normalised* box in both images; pixel boxes follow by scaling with the image size.
The scene is a side view of the machine: motor on the left, shaft running right through the
drive-end (DE) and the non-drive-end (NDE) pillow-block housings, shaft stub on the right.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from pm_monitor.sim.fault_schedule import DE_BEARING, NDE_BEARING


@dataclass(frozen=True)
class PixelBox:
    """Half-open pixel rectangle: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) slices for indexing an image."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


@dataclass(frozen=True)
class NormBox:
    """Rectangle in normalised image coordinates: x right, y down, both in [0, 1]."""

    x0: float
    y0: float
    x1: float
    y1: float

    def to_pixels(self, width: int, height: int) -> PixelBox:
        """Pixels whose centres fall inside the box (at least one pixel each way)."""
        px0, py0 = round(self.x0 * width), round(self.y0 * height)
        px1 = max(px0 + 1, round(self.x1 * width))
        py1 = max(py0 + 1, round(self.y1 * height))
        return PixelBox(px0, py0, px1, py1)

    def centre_px(self, width: int, height: int) -> tuple[int, int]:
        """(x, y) of the pixel containing the box centre."""
        cx = 0.5 * (self.x0 + self.x1) * width
        cy = 0.5 * (self.y0 + self.y1) * height
        return min(width - 1, math.floor(cx)), min(height - 1, math.floor(cy))


@dataclass(frozen=True)
class RigLayout:
    """Normalised boxes of the scene parts. Housing boxes are centred on the shaft line."""

    base: NormBox = field(default_factory=lambda: NormBox(0.04, 0.78, 0.96, 0.86))
    motor: NormBox = field(default_factory=lambda: NormBox(0.06, 0.30, 0.40, 0.78))
    terminal_box: NormBox = field(default_factory=lambda: NormBox(0.17, 0.21, 0.29, 0.30))
    shaft: NormBox = field(default_factory=lambda: NormBox(0.40, 0.505, 0.84, 0.575))
    de_housing: NormBox = field(default_factory=lambda: NormBox(0.45, 0.42, 0.57, 0.66))
    nde_housing: NormBox = field(default_factory=lambda: NormBox(0.68, 0.42, 0.80, 0.66))
    de_pedestal: NormBox = field(default_factory=lambda: NormBox(0.43, 0.66, 0.59, 0.78))
    nde_pedestal: NormBox = field(default_factory=lambda: NormBox(0.66, 0.66, 0.82, 0.78))
    shaft_stub: NormBox = field(default_factory=lambda: NormBox(0.80, 0.495, 0.93, 0.585))
    motor_fin_pitch: float = 0.042  # spacing of the axial cooling fins, fraction of height

    def housing(self, location: str) -> NormBox:
        """Box of the bearing housing at `location` (de_bearing | nde_bearing)."""
        return _at_bearing(location, self.de_housing, self.nde_housing)

    def pedestal(self, location: str) -> NormBox:
        """Box of the pedestal (foot) under the housing at `location`."""
        return _at_bearing(location, self.de_pedestal, self.nde_pedestal)

    def housing_centre_px(self, location: str, width: int, height: int) -> tuple[int, int]:
        """(x, y) pixel of the bearing centre of a housing in a width x height image."""
        return self.housing(location).centre_px(width, height)


def _at_bearing(location: str, de_box: NormBox, nde_box: NormBox) -> NormBox:
    if location == DE_BEARING:
        return de_box
    if location == NDE_BEARING:
        return nde_box
    raise ValueError(f"unknown bearing location {location!r}")
