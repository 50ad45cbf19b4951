"""The monitor's data path without ROS: decoded inputs -> windows -> cascade -> alarm updates.

The monitor node only converts messages and publishes what this returns, so the whole path
(including every bad-input branch) is testable without rclpy.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from pm_monitor.core.acceleration_units import acceleration_scale
from pm_monitor.core.alarms import AlarmConfig, AlarmManager, AlarmUpdate, window_velocity_mm_s
from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.imaging.codec import (
    CompressedImageData,
    ImageDecodeError,
    RadiometricScale,
    RawImage,
    decode,
    decompress,
    to_celsius,
    to_rgb8,
)
from pm_monitor.core.sync.clock_offsets import ClockEstimate, ClockOffsets, clock_status
from pm_monitor.core.sync.stream_buffer import MAX_SAMPLE_RATE_HZ
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.sync.window_assembler import (
    ImageSpec,
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL

ACCEL_CHANNELS = ("x", "y", "z")
# MAX_SAMPLE_RATE_HZ: far above any accelerometer or microphone we support (192 kHz audio); a
# corrupt rate field must not make the stream buffer allocate seconds of a GHz stream.
# Drivers send chunks of milliseconds. A chunk claiming to span more (a rate field of 1e-300
# Hz, say) would move stream time by ages and make the assembler emit windows for hours.
MAX_CHUNK_DURATION_S = 5.0
# Recent windows whose latency makes up the p99 in /diagnostics.
LATENCY_HISTORY = 600


class MonitorAssembler(WindowAssembler):
    """The window assembler with a slop that can change while it runs (a ROS parameter).

    The slop only decides which frame set a window takes and how far apart matched frames may
    lie, so changing it keeps every buffered sample and frame (queued frames are matched
    again); stream capacities depend on the timeout, which stays fixed."""

    def set_image_slop(self, slop_s: float) -> None:
        if not 0.0 <= slop_s <= self.config.max_reorder_s:
            raise ValueError(f"image slop must lie in [0, {self.config.max_reorder_s}] s, "
                             f"got {slop_s}")
        images = tuple(replace(spec, slop_s=slop_s) for spec in self.config.images)
        self.config = replace(self.config, images=images)
        self._set_slops({spec.name: round(slop_s * 1e9) for spec in images})


def monitor_assembler(window_s: float, hop_s: float, image_slop_s: float,
                      modality_timeout_s: float,
                      accel_channels: tuple[str, ...] = ACCEL_CHANNELS,
                      image_latency_budget_s: float = 0.1,
                      drop_warn_after_s: float = 5.0) -> MonitorAssembler:
    """The monitor's four inputs: accelerometer (the rig's 3 axes, or the channels the loaded
    models were trained on; none when the model set takes no accelerometer, e.g. an asset
    watched by its microphone alone), microphone, thermal and camera."""
    accel = (StreamSpec(ACCEL, len(accel_channels), tuple(accel_channels)),) \
        if accel_channels else ()
    return MonitorAssembler(WindowAssemblerConfig(
        streams=(*accel, StreamSpec(MIC, 1, ("mic",))),
        images=(ImageSpec(THERMAL, image_slop_s), ImageSpec(CAMERA, image_slop_s)),
        window_s=window_s, hop_s=hop_s, timeout_s=modality_timeout_s,
        image_latency_budget_s=image_latency_budget_s, drop_warn_after_s=drop_warn_after_s))


# The monitor node's defaults (pm_monitor.nodes.params; not imported here: core has no rclpy),
# for the offline tools that replay recordings through the node's own pipeline.
NODE_IMAGE_SLOP_S, NODE_MODALITY_TIMEOUT_S = 0.1, 2.0


def offline_pipeline(models, alarms: AlarmManager) -> MonitorPipeline:
    """The monitor node's pipeline (input checks, unit conversion, synchroniser windows, the
    model set, the alarm manager) with the node's default parameters, without ROS: what
    `python -m pm_monitor.commission` and the live-path evaluation feed recordings through."""
    return MonitorPipeline(
        monitor_assembler(models.window_s, models.hop_s, NODE_IMAGE_SLOP_S,
                          NODE_MODALITY_TIMEOUT_S, models.accel_channels),
        models, alarms, accel_unit=models.accel_unit, sample_rates=models.sample_rates)


def assembler_diagnostics(assembler: WindowAssembler, clocks: ClockOffsets | None = None
                          ) -> dict[str, object]:
    """Flat key/values of the synchroniser for /diagnostics (clock models when given)."""
    st = assembler.stats
    values: dict[str, object] = {
        "windows_emitted": st.windows_emitted, "windows_with_missing": st.windows_with_missing,
        # windows that had data but a required input was missing: really lost
        "windows_dropped": st.windows_skipped_required,
        # grid steps with no data at all are time without data, not windows
        "no_data_s": st.windows_skipped_empty * assembler.config.hop_s,
        "frames_dropped": assembler.frames_dropped,
        "frame_spread_mean_ms": st.mean_frame_spread_ns() / 1e6,
        "frame_spread_max_ms": st.max_frame_spread_ns() / 1e6, "resets": st.resets}
    values.update(assembler.matcher_diagnostics())
    for name, count in st.missing_by_input.items():
        values[f"missing_{name}"] = count
    for name, buffer in assembler.stream_buffers.items():
        b = buffer.stats
        values.update({f"{name}_gaps": b.gaps, f"{name}_duplicates": b.duplicates,
                       f"{name}_out_of_order": b.out_of_order, f"{name}_resets": b.resets})
    clock = assembler.clock_ns
    if clock is not None:
        starving = assembler.drops.starving(clock)
        values["inputs_all_dropped"] = ", ".join(
            f"{name} for {seconds:.1f} s" for name, seconds in sorted(starving.items()))
    if clocks is not None:
        level, message = clock_status(clocks.estimates(), clocks.config.tolerance_s)
        values["clock_level"], values["clock_message"] = level, message
        values["clock_reference"] = clocks.config.reference
        for e in clocks.estimates():
            values.update({f"clock_{e.name}_status": e.status,
                           f"clock_{e.name}_offset_ms": e.offset_s * 1e3,
                           f"clock_{e.name}_drift_ppm": e.drift_ppm,
                           f"clock_{e.name}_significance": e.significance,
                           f"clock_{e.name}_corrected": e.applied})
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
    # The sensor this input follows (its frame_id) and when it last delivered: chunks of
    # another frame_id are a second source on the same topic and are refused while it lives.
    source_frame_id: str = ""
    source_seen_ns: int = 0
    foreign: int = 0  # chunks refused as a second source

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
    recent_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_HISTORY))
    failures: int = 0  # windows the cascade raised on (the node reports and goes on)
    last_failure: str = ""
    rul_failures: int = 0  # windows the RUL stage raised on (after their decision was out)

    @property
    def latency_ms_mean(self) -> float:
        return self.latency_ms_sum / self.windows if self.windows else 0.0

    def latency_ms_p99(self) -> float:
        """99th percentile over the last LATENCY_HISTORY windows (drift shows here)."""
        return float(np.percentile(self.recent_ms, 99)) if self.recent_ms else 0.0


@dataclass(frozen=True)
class WindowOutput:
    """What one analysis window produced: the cascade result, the window's ISO velocity RMS
    and the alarm messages it caused (none, or several: a raise on one alarm, an update on
    another, a shelving that expired)."""

    result: object  # pm_monitor.core.cascade.CascadeResult
    decisions: list[AlarmUpdate]
    window: AnalysisWindow
    velocity_mm_s: float | None = None
    clock_models: tuple[ClockEstimate, ...] = ()  # inputs' clock models at this window


@dataclass
class PipelineStats:
    inputs: dict[str, InputStats] = field(default_factory=dict)
    inference: InferenceStats = field(default_factory=InferenceStats)


class MonitorPipeline:
    """Feeds validated inputs to the window assembler and each window to the cascade."""

    def __init__(self, assembler, cascade, alarms: AlarmManager,
                 radiometric: RadiometricScale | None = None,
                 max_image_pixels: int = 4096 * 4096, max_future_s: float = 0.0,
                 accel_unit: str = "m/s^2",
                 sample_rates: dict[str, float] | None = None,
                 clocks: ClockOffsets | None = None) -> None:
        """max_future_s: inputs stamped more than this ahead of the `now_ns` given with them
        are refused (0: no check). One far-future stamp would otherwise flush the windows
        and restart the synchroniser's grid twice (there and back).
        accel_unit: the unit the models were trained in; accelerometer chunks in another
        known unit are converted, in an unknown one refused.
        sample_rates: input -> the only rate its models accept (others are refused at the
        input, with the reason, instead of failing inside a model); None = any rate.
        clocks: the inputs' clock models (estimated from the data seen here, applied to the
        stamps the synchroniser gets, arrival stamping); None = stamps taken as they come."""
        self.clocks = clocks
        self.accel_unit = accel_unit
        # ISO zones are in SI; an unknown models' unit fails here, at start-up
        self._velocity_to_si = acceleration_scale(accel_unit, "m/s^2")
        self.sample_rates = dict(sample_rates or {})
        self.assembler = assembler
        self.cascade = cascade
        self.alarms = alarms
        self.radiometric = radiometric or RadiometricScale()
        self.max_image_pixels = max_image_pixels
        self.max_future_s = max_future_s
        self.stats = PipelineStats()

    def set_alarm_config(self, config: AlarmConfig) -> None:
        """New delays, deadbands, rate limits and zone table, from the next window on (alarms
        and their history are kept)."""
        self.alarms.set_config(config)

    def _input(self, name: str) -> InputStats:
        return self.stats.inputs.setdefault(name, InputStats())

    def _reject(self, stats: InputStats, reason: str) -> InputRejectedError:
        stats.rejected += 1
        stats.last_error = reason
        return InputRejectedError(reason)

    def on_chunk(self, name: str, stamp_ns: int, sample_rate: float,
                 channel_names: list[str], first_sample_index: int,
                 samples: np.ndarray, now_ns: int | None = None,
                 unit: str = "", frame_id: str = "") -> list[WindowOutput]:
        """A SensorChunk's fields (now_ns: the receiver's clock, for the far-future check;
        unit: empty = the models' unit; frame_id: the sensor's frame, "" = not checked).

        Raises InputRejectedError (already counted) for bad chunks."""
        stats = self._input(name)
        stats.received += 1
        if name not in self.assembler.stream_buffers:
            raise self._reject(stats, f"{name}: not an input of the loaded model set (e.g. an "
                                      "asset file with accelerometer: {enabled: false})")
        # everything the header and metadata tell is checked before the payload is decoded:
        # a flood of refused messages must cost little, or it starves the valid inputs
        self._check_stamp(stats, stamp_ns, now_ns, "the sensor driver", name)
        self._check_source(stats, name, frame_id, stamp_ns, now_ns)
        scale = self._check_chunk_metadata(stats, name, sample_rate, list(channel_names),
                                           len(samples), unit)
        try:
            frames = decode_chunk(samples, channel_names, sample_rate)
        except ChunkDecodeError as err:
            raise self._reject(stats, str(err)) from None
        frames = self._in_model_channel_order(stats, name, list(channel_names), frames)
        if scale != 1.0:
            frames = frames * np.float32(scale)
        stamp_ns = self._synchronised_stamp(
            name, stamp_ns, now_ns, round(len(frames) / sample_rate * 1e9),
            lambda raw: self.clocks.observe_chunk(name, raw, float(sample_rate), frames))
        try:
            windows = self.assembler.add_chunk(name, stamp_ns, float(sample_rate),
                                               int(first_sample_index), frames)
        except ValueError as err:  # e.g. channel count differs from the configured stream
            raise self._reject(stats, str(err)) from None
        self._note_stamp(stats, stamp_ns)
        return self._run(windows)

    def on_image(self, name: str, stamp_ns: int, frame_id: str,
                 raw: RawImage | CompressedImageData,
                 now_ns: int | None = None) -> list[WindowOutput]:
        """An Image's or a CompressedImage's fields. Thermal -> deg C, camera -> RGB.

        Bad images raise InputRejectedError (already counted); so does a thermal image in a
        lossy compressed format (no temperature scale)."""
        stats = self._input(name)
        stats.received += 1
        self._check_stamp(stats, stamp_ns, now_ns, "the camera driver", name)
        try:
            if isinstance(raw, CompressedImageData):
                raw = decompress(raw, self.max_image_pixels, radiometric=name == THERMAL)
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
        stamp_ns = self._synchronised_stamp(
            name, stamp_ns, now_ns, 0, lambda raw: self.clocks.observe_frame(name, raw, image))
        return self._run(self.assembler.add_frame(name, stamp_ns, image, frame_id))

    def _check_source(self, stats: InputStats, name: str, frame_id: str, stamp_ns: int,
                      now_ns: int | None) -> None:
        """One input follows one sensor. A second publisher on the same topic (another
        frame_id) would interleave its sample indices and stamps with the first one's: every
        switch reads as a gap, a reset or time going back, and the windows of every input
        suffer. Its chunks are refused while the followed sensor delivers; once that one has
        been silent for the modality timeout (stream time), the input follows the new one."""
        if not frame_id:
            return
        # silence on the receiver's clock (a foreign stream stamped ahead must not look like
        # the followed one having gone quiet); message time before the node has a clock
        clock_ns = now_ns if now_ns is not None else stamp_ns
        if frame_id != stats.source_frame_id:
            timeout_ns = round(self.assembler.config.timeout_s * 1e9)
            if stats.source_frame_id and clock_ns - stats.source_seen_ns < timeout_ns:
                stats.foreign += 1
                raise self._reject(stats, f"{name}: chunk of frame_id {frame_id!r} while this "
                                          f"input follows {stats.source_frame_id!r} (a second "
                                          "publisher on the topic?)")
            stats.source_frame_id = frame_id
        stats.source_seen_ns = clock_ns

    def _check_chunk_metadata(self, stats: InputStats, name: str, sample_rate: float,
                              names: list[str], n_values: int, unit: str) -> float:
        """Refuse a chunk on what its metadata says (rate, unit, channel count, duration);
        return the unit scale to the models' unit."""
        if not (isinstance(sample_rate, int | float) and math.isfinite(sample_rate)
                and sample_rate > 0):
            raise self._reject(stats, f"sample_rate {sample_rate!r} is not a positive number")
        if sample_rate > MAX_SAMPLE_RATE_HZ:
            raise self._reject(stats, f"sample_rate {sample_rate:g} Hz exceeds "
                                      f"{MAX_SAMPLE_RATE_HZ:g} Hz")
        expected_rate = self.sample_rates.get(name)
        if expected_rate is not None and abs(sample_rate - expected_rate) > 1e-6 * expected_rate:
            raise self._reject(stats, f"sample_rate {sample_rate:g} Hz differs from the "
                                      f"{expected_rate:g} Hz the models were trained on")
        scale = 1.0
        if name == ACCEL and unit.strip():
            try:
                scale = acceleration_scale(unit, self.accel_unit)
            except ValueError as err:
                raise self._reject(stats, str(err)) from None
        buffer = self.assembler.stream_buffers.get(name)
        expected = list(buffer.channel_names) if buffer is not None else names
        if names and len(names) != len(expected):
            raise self._reject(stats, f"{name}: {len(names)} channels {names}, the models take "
                                      f"{len(expected)} {expected}")
        if names and n_values / len(names) / sample_rate > MAX_CHUNK_DURATION_S:
            raise self._reject(stats, f"{n_values // len(names)} samples at {sample_rate:g} Hz "
                                      f"span {n_values / len(names) / sample_rate:.3g} s, more "
                                      f"than {MAX_CHUNK_DURATION_S:g} s per chunk")
        return scale

    def _synchronised_stamp(self, name: str, stamp_ns: int, now_ns: int | None,
                            span_ns: int, observe) -> int:
        """The stamp the synchroniser gets: by arrival for inputs so configured, the clock
        model's correction applied when confident. The estimator sees the uncorrected one."""
        if self.clocks is None:
            return stamp_ns
        raw = self.clocks.arrival_stamp(name, stamp_ns, now_ns, span_ns)
        observe(raw)
        return self.clocks.correct(name, raw)

    def _in_model_channel_order(self, stats: InputStats, name: str, names: list[str],
                                frames: np.ndarray) -> np.ndarray:
        """Channels named like the models' but in another order are put in the models'
        order; another channel count is refused with both lists. Same count, other names
        (a driver calling its axes "ax, ay, az") are taken in the order given."""
        buffer = self.assembler.stream_buffers.get(name)
        expected = list(buffer.channel_names) if buffer is not None else names
        if names == expected:
            return frames
        if sorted(names) == sorted(expected):
            return frames[:, [names.index(c) for c in expected]]
        if len(names) != len(expected):
            raise self._reject(stats, f"{name}: {len(names)} channels {names}, the models take "
                                      f"{len(expected)} {expected}")
        return frames

    def _check_stamp(self, stats: InputStats, stamp_ns: int, now_ns: int | None,
                     source: str, name: str = "") -> None:
        if (self.clocks is not None and name in self.clocks.stamp_by_arrival
                and now_ns is not None and now_ns > 0):
            return  # its stamp is replaced by the arrival time
        if stamp_ns <= 0:
            raise self._reject(stats, f"stamp is zero: {source} sets no time")
        if now_ns is not None and self.max_future_s > 0:
            ahead_s = (stamp_ns - now_ns) / 1e9
            if ahead_s > self.max_future_s:
                raise self._reject(stats, f"stamp {ahead_s:.1f} s ahead of the clock (limit "
                                          f"max_future_stamp_s = {self.max_future_s:g} s)")

    @staticmethod
    def _note_stamp(stats: InputStats, stamp_ns: int) -> None:
        if stats.first_stamp_ns is None:
            stats.first_stamp_ns = stamp_ns
        stats.last_stamp_ns = stamp_ns

    def observe_rul(self, out: WindowOutput):
        """Feed a window whose decision is out to the model set's RUL stage: the estimate it
        made now (a core.rul.live.LiveEstimate), if any. The node calls it after publishing the
        window's alerts and health, so the RUL never delays them (Cascade.observe_rul). A
        failing RUL stage is counted with its reason, like a failing window."""
        try:
            return self.cascade.observe_rul(out.window)
        except Exception as err:  # the decision is already out: keep the monitor going
            inference = self.stats.inference
            inference.rul_failures += 1
            inference.last_failure = f"RUL stage: {type(err).__name__}: {err}"
            return None

    def _run(self, windows: list[AnalysisWindow]) -> list[WindowOutput]:
        outputs = []
        inference = self.stats.inference
        for window in windows:
            try:
                result = self.cascade.process(window)
            except Exception as err:
                # A model failing on one window must not take the monitor (and the windows
                # after it) down: count it, keep the reason for /diagnostics (ERROR), go on.
                inference.failures += 1
                inference.last_failure = f"{type(err).__name__}: {err}"
                continue
            inference.windows += 1
            inference.stage2_runs += int(result.stage2_ran)
            total_ms = float(result.timings_ms["total"])
            inference.latency_ms_sum += total_ms
            inference.latency_ms_max = max(inference.latency_ms_max, total_ms)
            inference.recent_ms.append(total_ms)
            velocity = window_velocity_mm_s(window, band_hz=self.alarms.config.band_hz)
            if velocity is not None:
                velocity *= self._velocity_to_si
            decisions = self.alarms.update_result(result, velocity)
            clocks = tuple(self.clocks.estimates()) if self.clocks is not None else ()
            outputs.append(WindowOutput(result, decisions, window, velocity, clocks))
        return outputs
