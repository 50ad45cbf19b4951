"""Visible camera: a cheap rendered RGB view of the machine, (height, width, 3) uint8.

The static scene (shaded motor, housings, shaft, baseplate, wall, floor) is rendered once.
Per frame only small regions change:
  * a reflective tape stripe on the shaft stub, at the shaft's angle (2π f_shaft t); at
    camera rates near the shaft speed it aliases, as a real stroboscopic view would;
  * at high severity, the failing housing discolours (burnt grease, heat tint) and a
    lubricant leak spreads below it;
plus mild sensor noise. The noise comes from a precomputed bank read at a random offset per
frame, and the background is kept inside [k, 255 - k] for noise bound k, so a frame costs
one add and one cast without clipping.
"""
from __future__ import annotations

import math

import numpy as np

from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.counter_rng import Stream, hashed_uniform, stream_key
from pm_monitor.sim.fault_schedule import BEARING_LOCATIONS, FaultSchedule
from pm_monitor.sim.layout import PixelBox, RigLayout
from pm_monitor.sim.scene import part_masks, pixel_grid

# Base colours (RGB, 0-255) of the scene parts before shading.
_COLOURS = {
    "wall": (196, 200, 206),
    "floor": (138, 136, 130),
    "base": (72, 74, 78),
    "motor": (128, 132, 138),
    "terminal_box": (110, 115, 120),
    "shaft": (182, 184, 188),
    "pedestal": (58, 64, 74),
    "housing": (66, 76, 94),
}
_TAPE_COLOUR = np.array([250.0, 250.0, 245.0])
_TAPE_WIDTH_OF_RADIUS = 0.6  # painted width of the tape relative to the shaft radius
_HEAT_TINT_COLOUR = np.array([122.0, 80.0, 42.0])
_LEAK_COLOUR = np.array([40.0, 34.0, 22.0])
DISCOLOUR_FROM_SEVERITY = 0.5  # housing starts to discolour
LEAK_FROM_SEVERITY = 0.6  # lubricant starts to leak
_MAX_TINT_ALPHA = 0.55
_MAX_LEAK_ALPHA = 0.8
_NOISE_BOUND_SIGMAS = 4.0
_EDGE_BLUR_PX = 0.5  # anti-aliasing of part edges


class CameraRenderer:
    """Renders (camera_height, camera_width, 3) uint8 RGB frames."""

    def __init__(self, config: RigConfig, layout: RigLayout, schedule: FaultSchedule,
                 seed: int) -> None:
        self._config = config
        self._schedule = schedule
        width, height = config.camera_width, config.camera_height
        self._noise_bound = math.ceil(_NOISE_BOUND_SIGMAS * config.camera_noise)
        background = np.clip(_render_static(layout, width, height),
                             self._noise_bound, 255 - self._noise_bound)
        self._background = background.astype(np.int16)
        self._stub = layout.shaft_stub.to_pixels(width, height)
        self._housings = {loc: layout.housing(loc).to_pixels(width, height)
                          for loc in BEARING_LOCATIONS}
        self._leaks = {loc: _LeakField(layout, loc, width, height) for loc in BEARING_LOCATIONS}
        rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, Stream.PHASES, 3])
        self._tape_phase = float(rng.uniform(0.0, 2.0 * np.pi))
        noise_rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, Stream.CAMERA_NOISE])
        bank = np.rint(config.camera_noise * noise_rng.standard_normal(2 * width * height))
        self._noise_bank = np.clip(bank, -self._noise_bound, self._noise_bound).astype(np.int16)
        self._noise_key = stream_key(seed, Stream.CAMERA_NOISE)

    def render(self, t_s: float) -> np.ndarray:
        """Camera frame at t_s (s)."""
        if t_s < 0.0:
            raise ValueError(f"frame time must be >= 0, got {t_s}")
        frame = self._background.copy()
        self._draw_tape(frame, t_s)
        for loc in BEARING_LOCATIONS:
            severity = self._schedule.severity_at(loc, t_s)
            if severity > DISCOLOUR_FROM_SEVERITY:
                self._discolour(frame, self._housings[loc], severity)
            if severity > LEAK_FROM_SEVERITY:
                self._leaks[loc].draw(frame, (severity - LEAK_FROM_SEVERITY)
                                      / (1.0 - LEAK_FROM_SEVERITY))
        height, width = frame.shape[:2]
        pixels = height * width
        offset = int(hashed_uniform(self._noise_key, np.array([round(t_s * 1e6)]))[0] * pixels)
        noise = self._noise_bank[offset:offset + pixels].reshape(height, width)
        frame += noise[:, :, None]
        return frame.astype(np.uint8)

    def _draw_tape(self, frame: np.ndarray, t_s: float) -> None:
        """Tape stripe on the stub: a surface line at shaft angle θ projects to height
        y_c - r sin θ, is seen only while facing the camera (cos θ > 0) and foreshortened
        by cos θ."""
        angle = 2.0 * math.pi * self._config.shaft_hz * t_s + self._tape_phase
        facing = math.cos(angle)
        if facing <= 0.0:
            return
        box = self._stub
        radius = 0.5 * box.height
        centre_y = box.y0 + radius
        stripe_y = centre_y - radius * math.sin(angle)
        half_width = max(0.5, 0.5 * _TAPE_WIDTH_OF_RADIUS * radius * facing)
        row_centres = np.arange(box.y0, box.y1) + 0.5
        coverage = np.clip(half_width + 0.5 - np.abs(row_centres - stripe_y), 0.0, 1.0)
        alpha = (facing * coverage)[:, None, None]
        region = frame[box.slices]
        region[...] = np.rint((1.0 - alpha) * region + alpha * _TAPE_COLOUR)

    @staticmethod
    def _discolour(frame: np.ndarray, box: PixelBox, severity: float) -> None:
        alpha = _MAX_TINT_ALPHA * min(1.0, (severity - DISCOLOUR_FROM_SEVERITY)
                                      / (1.0 - DISCOLOUR_FROM_SEVERITY))
        region = frame[box.slices]
        region[...] = np.rint((1.0 - alpha) * region + alpha * _HEAT_TINT_COLOUR)


class _LeakField:
    """Where a leak from one housing spreads: down the pedestal and onto the baseplate.

    Holds the normalised distance from the leak origin (bottom centre of the housing,
    1 = full extent, vertically stretched: oil runs down); a leak of extent g in [0, 1]
    covers the pixels with distance < g.
    """

    def __init__(self, layout: RigLayout, location: str, width: int, height: int) -> None:
        housing = layout.housing(location).to_pixels(width, height)
        base = layout.base.to_pixels(width, height)
        origin_x = 0.5 * (housing.x0 + housing.x1)
        reach_x = 0.6 * housing.width
        self.box = PixelBox(max(0, round(origin_x - reach_x)), housing.y1,
                            min(width, round(origin_x + reach_x)), base.y1)
        x, y = pixel_grid(width, height)
        x, y = x[self.box.slices] + 0.5, y[self.box.slices] + 0.5
        reach_y = self.box.height
        self.distance = np.sqrt(((x - origin_x) / reach_x) ** 2 + ((y - housing.y1) / reach_y) ** 2)

    def draw(self, frame: np.ndarray, extent: float) -> None:
        alpha = _MAX_LEAK_ALPHA * np.clip((extent - self.distance) * 8.0, 0.0, 1.0)
        alpha = alpha[:, :, None]
        region = frame[self.box.slices]
        region[...] = np.rint((1.0 - alpha) * region + alpha * _LEAK_COLOUR)


def _render_static(layout: RigLayout, width: int, height: int) -> np.ndarray:
    """The unchanging scene as float (height, width, 3) RGB, lit from the top."""
    masks = part_masks(layout, width, height, blur_px=_EDGE_BLUR_PX)
    _, y = pixel_grid(width, height)
    image = np.zeros((height, width, 3), dtype=np.float32)

    def paint(mask: np.ndarray, colour: tuple[int, int, int], shade: np.ndarray | float) -> None:
        image[...] += (mask * shade)[:, :, None] * np.asarray(colour, dtype=np.float32)

    floor_row = layout.base.y1 * height
    on_floor = (y >= floor_row).astype(np.float32)
    wall_shade = 1.05 - 0.15 * y / height  # light from above: wall darker towards the floor
    paint(masks["background"] * (1.0 - on_floor), _COLOURS["wall"], wall_shade)
    paint(masks["background"] * on_floor, _COLOURS["floor"], 1.0)
    paint(masks["base"], _COLOURS["base"], 1.0)
    motor_box = layout.motor.to_pixels(width, height)
    fin_pitch_px = layout.motor_fin_pitch * height
    fins = 1.0 - 0.12 * (np.floor((y - motor_box.y0) / (0.5 * fin_pitch_px)) % 2)  # fin shadows
    paint(masks["motor"], _COLOURS["motor"], _cylinder_shade(y, motor_box) * fins)
    paint(masks["terminal_box"], _COLOURS["terminal_box"], 1.0)
    for part in ("shaft", "shaft_stub"):
        box = getattr(layout, part).to_pixels(width, height)
        paint(masks[part], _COLOURS["shaft"], _cylinder_shade(y, box))
    for loc in ("de", "nde"):
        paint(masks[f"{loc}_pedestal"], _COLOURS["pedestal"], 1.0)
        box = getattr(layout, f"{loc}_housing").to_pixels(width, height)
        paint(masks[f"{loc}_housing"], _COLOURS["housing"], _cylinder_shade(y, box))
    return image


def _cylinder_shade(y: np.ndarray, box: PixelBox) -> np.ndarray:
    """Lambert shading of a horizontal cylinder filling `box`, light from above-front."""
    radius = 0.5 * box.height
    normal_y = np.clip((y + 0.5 - (box.y0 + radius)) / radius, -1.0, 1.0)  # -1 top, +1 bottom
    facing = np.sqrt(1.0 - normal_y**2)
    return 0.55 + 0.35 * facing - 0.2 * normal_y
