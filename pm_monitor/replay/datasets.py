"""Replay sources for each real data set: a selection (bearing / record / class / machine)
becomes one StreamSource or ImageSource on the monitor's input names.

- femto -> accel: 2 channels (horizontal, vertical), g (or m/s^2), 25.6 kHz. Snapshot i
  sits at its true time ``t_s[i]``, so a 9.9 s gap separates the 0.1 s snapshots;
  ``compress_gaps`` plays them back to back instead (stamps then run 100x faster than the
  test did; ``record_id`` keeps the snapshot number).
- cwru -> accel: DE (optionally FE, BA), g (or m/s^2), 12 kHz; records one after another,
  ``gap_s`` apart.
- machine_sound -> mic: 1 channel, full scale, 16 kHz; clips one after another, ``gap_s`` apart.
- thermal_motor -> thermal: 320x240 mono16 (assumed span) / mono8 / rgb8; time = frame number
  x ``frame_period_s`` (missing frames leave holes); classes one after another, ``gap_s`` apart.
- neu_surface -> camera: 200x200 mono8, one image every ``frame_period_s``.

thermal_motor has no radiometric data: ``mono16`` maps the palette index linearly onto an
*assumed* span (``thermal_span_c``) in centikelvin so the monitor accepts it; ``mono8`` sends
the lossless palette index itself (relative intensity), ``rgb8`` the original false colour.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from pm_monitor.core.imaging.codec import from_celsius
from pm_monitor.core.types import ACCEL, CAMERA, MIC, NS_PER_S, THERMAL
from pm_monitor.datasets import cwru, femto, machine_sound, neu_surface, thermal_motor
from pm_monitor.replay.sources import (
    ImageFrameRef,
    ImageSource,
    Source,
    StreamSegment,
    StreamSource,
    contiguous_segments,
    samples_in,
)

DATASETS = ("femto", "cwru", "thermal_motor", "neu_surface", "machine_sound")
THERMAL_ENCODINGS = ("mono16", "mono8", "rgb8")
ACCEL_UNITS = ("g", "m/s^2")  # the files hold g; the monitor's accel input is in m/s^2


@dataclass(frozen=True)
class Selection:
    """Which recordings to play; each field is read by one data set only."""

    bearing: str = "Bearing1_3"  # femto
    records: tuple[int, ...] = (105,)  # cwru, played in this order
    thermal_class: str = ""  # thermal_motor: "" = every class, one after another
    neu_class: str = ""  # neu_surface: "" = every class
    machine: str = "fan/id_00"  # machine_sound: "type/id", "type" or "" (all)
    label: str = ""  # machine_sound: "normal", "anomaly" or "" (both)


@dataclass(frozen=True)
class SourceOptions:
    compress_gaps: bool = False  # femto: play snapshots back to back (see module docstring)
    gap_s: float = 1.0  # silence between recordings (cwru records, clips, thermal classes)
    frame_period_s: float = 1.0  # image data sets: spacing of frames (no stamps in the data)
    cwru_channels: tuple[str, ...] = ("DE",)
    accel_unit: str = "g"  # femto, cwru: "g" (as recorded) or "m/s^2" (x 9.80665)
    thermal_encoding: str = "mono16"
    thermal_span_c: tuple[float, float] = (20.0, 80.0)  # ASSUMED deg C of palette index 0, 241

    def __post_init__(self) -> None:
        if self.gap_s < 0 or not self.frame_period_s > 0:
            raise ValueError("need gap_s >= 0 and frame_period_s > 0")
        if self.thermal_encoding not in THERMAL_ENCODINGS:
            raise ValueError(f"thermal_encoding must be one of {THERMAL_ENCODINGS}, "
                             f"got {self.thermal_encoding!r}")
        if self.accel_unit not in ACCEL_UNITS:
            raise ValueError(f"accel_unit must be one of {ACCEL_UNITS}, got {self.accel_unit!r}")
        lo, hi = self.thermal_span_c
        if not hi > lo:
            raise ValueError(f"thermal_span_c must be (low, high) with high > low, got {lo, hi}")


def in_unit(samples_g: np.ndarray, unit: str) -> np.ndarray:
    """Acceleration in g -> float32 in ``unit`` (g or m/s^2, converted in float64)."""
    if unit == "g":
        return samples_g.astype(np.float32, copy=False)
    if unit == "m/s^2":
        return (samples_g.astype(np.float64) * femto.G).astype(np.float32)
    raise ValueError(f"accel unit must be one of {ACCEL_UNITS}, got {unit!r}")


def femto_source(bearing: femto.FemtoBearing, compress_gaps: bool = False,
                 unit: str = "g") -> StreamSource:
    """Every snapshot of a bearing; ``first_sample_index`` = true time x 25.6 kHz (or back to
    back with ``compress_gaps``)."""
    acc = cache(lambda: in_unit(bearing.acc_g, unit))  # decompress and scale once
    n = femto.SNAPSHOT_SAMPLES
    if compress_gaps:
        starts = [i * n for i in range(bearing.n_snapshots)]
    else:
        starts = [round(t * bearing.fs) for t in bearing.t_s]
    segments = tuple(
        StreamSegment(start, n, lambda i=i: acc()[i], f"femto/{bearing.name}/snapshot_{snap}")
        for i, (start, snap) in enumerate(zip(starts, bearing.snapshot_index, strict=True)))
    return StreamSource(ACCEL, "femto/accel", bearing.fs, ("horizontal", "vertical"), unit,
                        segments)


def cwru_source(records: Sequence[int], channels: tuple[str, ...] = ("DE",),
                gap_s: float = 1.0, unit: str = "g") -> StreamSource:
    """CWRU records at 12 kHz, one after another with ``gap_s`` between them."""
    if not records:
        raise ValueError("cwru: select at least one record")
    signals = [cwru.load_record(int(r), channels) for r in records]
    loads = [(s.samples.shape[0], lambda s=s: in_unit(s.samples, unit), s.record.record_id)
             for s in signals]
    return StreamSource(ACCEL, "cwru/accel", float(cwru.RATE_12K_HZ), tuple(channels), unit,
                        contiguous_segments(loads, samples_in(_ns(gap_s), cwru.RATE_12K_HZ)))


def machine_sound_source(machine: str = "fan/id_00", label: str = "",
                         gap_s: float = 1.0) -> StreamSource:
    """Clips of one machine type or id (and label), one after another with ``gap_s``."""
    clips = [c for c in machine_sound.list_clips()
             if (not machine or machine in (c.machine_type, c.machine))
             and (not label or c.label == label)]
    if not clips:
        machines = sorted({c.machine for c in machine_sound.list_clips()})
        raise ValueError(f"machine_sound: no clip for machine {machine!r} label {label!r}; "
                         f"machines: {', '.join(machines)}; labels: normal, anomaly")
    loads = [(machine_sound.clip_length(c), lambda c=c: machine_sound.load_clip(c)[:, None],
              c.record_id) for c in clips]
    rate = machine_sound.SAMPLE_RATE_HZ
    return StreamSource(MIC, "machine_sound/mic", float(rate), ("mic",), machine_sound.UNIT,
                        contiguous_segments(loads, samples_in(_ns(gap_s), rate)))


def thermal_pixels(index: np.ndarray, encoding: str, span_c: tuple[float, float],
                   rgb: np.ndarray | None = None) -> np.ndarray:
    """Palette index image -> pixels of ``encoding`` (rgb8 needs the RGB image itself)."""
    if encoding == "mono8":
        return index
    if encoding == "rgb8":
        if rgb is None:
            raise ValueError("rgb8 needs the RGB image")
        return rgb
    lo, hi = span_c
    celsius = lo + index.astype(np.float64) * ((hi - lo) / (thermal_motor.PALETTE_SIZE - 1))
    return from_celsius(celsius)


def thermal_motor_source(class_name: str = "", options: SourceOptions | None = None
                         ) -> ImageSource:
    """Frames of one class (or all, class after class); time = frame number x period."""
    opts = options or SourceOptions()
    frames = [f for f in thermal_motor.list_frames()
              if not class_name or f.class_name == class_name]
    if not frames:
        raise ValueError(f"thermal_motor: unknown class {class_name!r}; classes: "
                         f"{', '.join(thermal_motor.class_names())}")
    period_ns = _ns(opts.frame_period_s)

    def load(frame: thermal_motor.ThermalFrame) -> np.ndarray:
        rgb = thermal_motor.load_rgb(frame) if opts.thermal_encoding == "rgb8" else None
        index = thermal_motor.load_palette_index(frame)
        return thermal_pixels(index, opts.thermal_encoding, opts.thermal_span_c, rgb)

    refs, offset_ns, first_no, prev_class = [], 0, 0, None
    for frame in frames:
        if frame.class_name != prev_class:  # a new session starts after the gap
            if prev_class is not None:
                offset_ns = refs[-1].t_ns + period_ns + _ns(opts.gap_s)
            first_no, prev_class = frame.frame_no, frame.class_name
        # missing frame numbers (e.g. 105) leave a one-period hole, as the camera did
        refs.append(ImageFrameRef(offset_ns + (frame.frame_no - first_no) * period_ns,
                                  lambda f=frame: load(f), frame.record_id + f"/{frame.frame_no}"))
    return ImageSource(THERMAL, "thermal_motor/thermal_optical", opts.thermal_encoding, period_ns,
                       tuple(refs))


def neu_surface_source(class_name: str = "", frame_period_s: float = 1.0) -> ImageSource:
    """NEU images (mono8) of one class (or all), one every ``frame_period_s``."""
    images = [im for im in neu_surface.list_images()
              if not class_name or im.class_name == class_name]
    if not images:
        raise ValueError(f"neu_surface: unknown class {class_name!r}; classes: "
                         f"{', '.join(neu_surface.CLASSES)}")
    period_ns = _ns(frame_period_s)
    refs = tuple(ImageFrameRef(i * period_ns, lambda im=im: neu_surface.load_image(im),
                               im.record_id) for i, im in enumerate(images))
    return ImageSource(CAMERA, "neu_surface/camera_optical", "mono8", period_ns, refs)


def build_source(dataset: str, selection: Selection | None = None,
                 options: SourceOptions | None = None) -> Source:
    """The source of one data set for a selection; clear errors for unknown names."""
    sel, opts = selection or Selection(), options or SourceOptions()
    if dataset == "femto":
        if sel.bearing not in femto.ALL_BEARINGS:
            raise ValueError(f"femto: unknown bearing {sel.bearing!r}; bearings: "
                             f"{', '.join(femto.ALL_BEARINGS)}")
        return femto_source(femto.load_bearing(sel.bearing), opts.compress_gaps,
                            opts.accel_unit)
    if dataset == "cwru":
        return cwru_source(sel.records, opts.cwru_channels, opts.gap_s, opts.accel_unit)
    if dataset == "machine_sound":
        return machine_sound_source(sel.machine, sel.label, opts.gap_s)
    if dataset == "thermal_motor":
        return thermal_motor_source(sel.thermal_class, opts)
    if dataset == "neu_surface":
        return neu_surface_source(sel.neu_class, opts.frame_period_s)
    raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


def _ns(seconds: float) -> int:
    return round(seconds * NS_PER_S)


def parse_names(value: object) -> tuple[str, ...]:
    """A ROS parameter holding one name, a comma-separated string or a list -> names."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(v).strip() for v in items if str(v).strip())


def parse_records(value: object) -> tuple[int, ...]:
    """CWRU record numbers from an int, a list of ints or a string like "97, 105"."""
    if isinstance(value, bool):
        raise ValueError(f"record must be a number or a list of numbers, got {value!r}")
    if isinstance(value, int):
        return (value,)
    try:
        return tuple(int(v) for v in parse_names(value))
    except ValueError:
        raise ValueError(f"record must be CWRU record numbers, e.g. 105 or [97, 105], "
                         f"got {value!r}") from None
