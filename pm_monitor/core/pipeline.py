"""The monitor's data path without ROS: decoded inputs -> windows -> cascade -> alert decisions.

The monitor node only converts messages and publishes what this returns, so the whole path
(including every bad-input branch) is testable without rclpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pm_monitor.core.alerting import AlertDecision, AlertTracker
from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.imaging.codec import (
    ImageDecodeError,
    RadiometricScale,
    RawImage,
    decode,
    to_celsius,
    to_rgb8,
)
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.sync.window_assembler import (
    ImageSpec,
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL, HealthState

ACCEL_CHANNELS = ("x", "y", "z")


def monitor_assembler(window_s: float, hop_s: float, image_slop_s: float,
                      modality_timeout_s: float) -> WindowAssembler:
    """The monitor's four inputs: 3-axis accelerometer, microphone, thermal and camera."""
    return WindowAssembler(WindowAssemblerConfig(
        streams=(StreamSpec(ACCEL, 3, ACCEL_CHANNELS), StreamSpec(MIC, 1, ("mic",))),
        images=(ImageSpec(THERMAL, image_slop_s), ImageSpec(CAMERA, image_slop_s)),
        window_s=window_s, hop_s=hop_s, timeout_s=modality_timeout_s))


def assembler_diagnostics(assembler: WindowAssembler) -> dict[str, object]:
    """Flat key/values of the synchroniser for /diagnostics."""
    st = assembler.stats
    values: dict[str, object] = {
        "windows_emitted": st.windows_emitted, "windows_with_missing": st.windows_with_missing,
        "windows_skipped": st.windows_skipped_empty + st.windows_skipped_required,
        "frames_dropped": assembler.frames_dropped,
        "frame_spread_mean_ms": st.mean_frame_spread_ns() / 1e6,
        "frame_spread_max_ms": st.max_frame_spread_ns() / 1e6, "resets": st.resets}
    for name, count in st.missing_by_input.items():
        values[f"missing_{name}"] = count
    for name, buffer in assembler.stream_buffers.items():
        b = buffer.stats
        values.update({f"{name}_gaps": b.gaps, f"{name}_duplicates": b.duplicates,
                       f"{name}_out_of_order": b.out_of_order, f"{name}_resets": b.resets})
    return values


class InputRejectedError(ValueError):
    """An input message was refused; the message says why (for logs and diagnostics)."""


@dataclass
class InputStats:
    """Counters of one input, for /diagnostics."""

    received: int = 0
    rejected: int = 0
    last_error: str = ""
    last_stamp_ns: int | None = None
    first_stamp_ns: int | None = None

    def rate_hz(self) -> float:
        """Messages per second of stream (message) time since the first one."""
        if self.first_stamp_ns is None or self.last_stamp_ns is None:
            return 0.0
        span = (self.last_stamp_ns - self.first_stamp_ns) / 1e9
        return (self.received - self.rejected - 1) / span if span > 0 else 0.0


@dataclass
class InferenceStats:
    windows: int = 0
    stage2_runs: int = 0
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0

    @property
    def latency_ms_mean(self) -> float:
        return self.latency_ms_sum / self.windows if self.windows else 0.0


@dataclass(frozen=True)
class WindowOutput:
    """What one analysis window produced: the cascade result and, maybe, an alert event."""

    result: object  # pm_monitor.core.cascade.CascadeResult
    decision: AlertDecision | None
    window: AnalysisWindow


@dataclass
class PipelineStats:
    inputs: dict[str, InputStats] = field(default_factory=dict)
    inference: InferenceStats = field(default_factory=InferenceStats)


class MonitorPipeline:
    """Feeds validated inputs to the window assembler and each window to the cascade."""

    def __init__(self, assembler, cascade, tracker: AlertTracker,
                 radiometric: RadiometricScale | None = None,
                 max_image_pixels: int = 4096 * 4096) -> None:
        self.assembler = assembler
        self.cascade = cascade
        self.tracker = tracker
        self.radiometric = radiometric or RadiometricScale()
        self.max_image_pixels = max_image_pixels
        self.stats = PipelineStats()

    def _input(self, name: str) -> InputStats:
        return self.stats.inputs.setdefault(name, InputStats())

    def _reject(self, stats: InputStats, reason: str) -> InputRejectedError:
        stats.rejected += 1
        stats.last_error = reason
        return InputRejectedError(reason)

    def on_chunk(self, name: str, stamp_ns: int, sample_rate: float,
                 channel_names: list[str], first_sample_index: int,
                 samples: np.ndarray) -> list[WindowOutput]:
        """A SensorChunk's fields. Raises InputRejectedError (already counted) for bad chunks."""
        stats = self._input(name)
        stats.received += 1
        if stamp_ns <= 0:
            raise self._reject(stats, "stamp is zero: the sensor driver sets no time")
        try:
            frames = decode_chunk(samples, channel_names, sample_rate)
        except ChunkDecodeError as err:
            raise self._reject(stats, str(err)) from None
        try:
            windows = self.assembler.add_chunk(name, stamp_ns, float(sample_rate),
                                               int(first_sample_index), frames)
        except ValueError as err:  # e.g. channel count differs from the configured stream
            raise self._reject(stats, str(err)) from None
        self._note_stamp(stats, stamp_ns)
        return self._run(windows)

    def on_image(self, name: str, stamp_ns: int, frame_id: str,
                 raw: RawImage) -> list[WindowOutput]:
        """An Image's fields. Thermal -> deg C, camera -> RGB.

        Bad images raise InputRejectedError (already counted)."""
        stats = self._input(name)
        stats.received += 1
        if stamp_ns <= 0:
            raise self._reject(stats, "stamp is zero: the camera driver sets no time")
        try:
            pixels = decode(raw, self.max_image_pixels)
            if name == THERMAL:
                image = to_celsius(pixels, raw.encoding, self.radiometric)
                if not np.isfinite(image).all():
                    raise ImageDecodeError("thermal image contains NaN or Inf")
            elif name == CAMERA:
                image = to_rgb8(pixels, raw.encoding)
            else:
                raise ImageDecodeError(f"unknown image input {name!r}")
        except ImageDecodeError as err:
            raise self._reject(stats, f"{name}: {err}") from None
        self._note_stamp(stats, stamp_ns)
        return self._run(self.assembler.add_frame(name, stamp_ns, image, frame_id))

    @staticmethod
    def _note_stamp(stats: InputStats, stamp_ns: int) -> None:
        if stats.first_stamp_ns is None:
            stats.first_stamp_ns = stamp_ns
        stats.last_stamp_ns = stamp_ns

    def _run(self, windows: list[AnalysisWindow]) -> list[WindowOutput]:
        outputs = []
        for window in windows:
            result = self.cascade.process(window)
            inference = self.stats.inference
            inference.windows += 1
            inference.stage2_runs += int(result.stage2_ran)
            total_ms = float(result.timings_ms["total"])
            inference.latency_ms_sum += total_ms
            inference.latency_ms_max = max(inference.latency_ms_max, total_ms)
            abnormal = result.state != HealthState.NORMAL or result.anomalous
            decision = self.tracker.update(result.t_end_ns, result.state, abnormal)
            outputs.append(WindowOutput(result, decision, window))
        return outputs
