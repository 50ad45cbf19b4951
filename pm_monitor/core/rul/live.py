"""Live RUL from an accelerometer sample stream, without ROS (the rul_node only converts).

chunks -> contiguous sample buffer -> every `update_period_s` of stream time, the newest
`window_samples` frames form a snapshot -> Bresenham image + CWT features (the training
code's function) -> history -> sequence -> ensemble -> RUL, 80 % interval, health index.

Time is message time (chunk stamps), so a replay at any speed gives the same estimates.
Elapsed life = stream time since the first accepted chunk + `elapsed_at_start_s` (the age of
the bearing when monitoring started; 0 for a new bearing, as in FEMTO).

RUL in seconds from the normalised outputs: after the degradation onset (the causal rule of
core/rul/targets.py on the horizontal RMS), RUL = (t - t_on) y / (1 - y) with y the piecewise
head, and the estimate is `valid`. Before the onset the machine looks healthy and the RUL is
not meaningful (valid = False); the linear head's t y / (1 - y) is then reported as a rough
figure. Health index = the piecewise head, clipped to [0, 1] (1 healthy, 0 failed).
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.acceleration_units import acceleration_scale
from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.pipeline import InputRejectedError, InputStats, PipelineStats
from pm_monitor.core.rul.ensemble import RulEnsemble, sequence_positions
from pm_monitor.core.rul.snapshot import rms, snapshot_inputs
from pm_monitor.core.rul.targets import (
    OnlineOnset,
    OnsetRule,
    rul_s_from_linear,
    rul_s_from_piecewise,
)

INPUT_NAME = "accel"


@dataclass(frozen=True)
class LiveConfig:
    horizontal_channel: str = "horizontal"
    vertical_channel: str = "vertical"
    update_period_s: float = 10.0  # one snapshot per period, like FEMTO's acquisition
    elapsed_at_start_s: float = 0.0
    model_name: str = "rul_femto"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.update_period_s) and self.update_period_s > 0):
            raise ValueError(f"update_period_s must be > 0, got {self.update_period_s}")
        if not (math.isfinite(self.elapsed_at_start_s) and self.elapsed_at_start_s >= 0):
            raise ValueError(f"elapsed_at_start_s must be >= 0, got {self.elapsed_at_start_s}")
        if self.horizontal_channel == self.vertical_channel:
            raise ValueError("horizontal and vertical channels must differ")


@dataclass(frozen=True)
class LiveEstimate:
    """One RUL estimate, at the end of the snapshot it used."""

    stamp_ns: int
    valid: bool
    rul_s: float
    lower_s: float
    upper_s: float
    coverage: float
    health_index: float
    onset_s: float | None  # elapsed life at the detected degradation onset, if any
    normalised: dict[str, float]  # ensemble mean per head
    model_name: str


@dataclass
class _Snapshot:
    t_s: float  # elapsed life at the snapshot's end
    image: np.ndarray
    features: np.ndarray


class LiveRulEstimator:
    def __init__(self, model: RulEnsemble, config: LiveConfig | None = None,
                 onset_rule: OnsetRule | None = None) -> None:
        self.model = model
        self.config = config or LiveConfig()
        self.window = model.snapshot.window_samples
        self.sample_rate = model.snapshot.cwt.sample_rate_hz
        self.onset_rule = onset_rule or OnsetRule()
        seq = model.sequence
        self._keep_s = (seq.steps - 1) * seq.spacing_s + self.config.update_period_s
        # Snapshots may come a little early (FEMTO's clock jitters by ~10 us; a replay places
        # them by sample index): up to half a window early still counts as the next period.
        window_ns = self.window * 1e9 / self.sample_rate
        self._period_ns = self.config.update_period_s * 1e9 - window_ns / 2
        self.reset()

    def reset(self) -> None:
        """Forget the stream, history, onset and counters (e.g. a new bearing was fitted)."""
        self.stats = PipelineStats()
        self.onset = OnlineOnset(self.onset_rule)
        self._history: deque[_Snapshot] = deque()
        self._buffer = np.zeros((0, 2), dtype=np.float32)
        self._buffer_end_ns: int | None = None
        self._next_index: int | None = None
        self._first_stamp_ns: int | None = None
        self._last_snapshot_ns: int | None = None
        self.gaps = 0
        self.resets = 0

    # ------------------------------------------------------------------ input
    def on_chunk(self, stamp_ns: int, sample_rate: float, channel_names: Sequence[str],
                 unit: str, first_sample_index: int, samples: np.ndarray
                 ) -> list[LiveEstimate]:
        """A SensorChunk's fields. Raises InputRejectedError (already counted) if bad."""
        stats = self.stats.inputs.setdefault(INPUT_NAME, InputStats())
        stats.received += 1
        frames = self._validate(stats, stamp_ns, sample_rate, channel_names, unit, samples)
        names = list(channel_names)
        picked = frames[:, [names.index(self.config.horizontal_channel),
                            names.index(self.config.vertical_channel)]]
        picked = picked * np.float32(acceleration_scale(unit, "g"))
        self._append(stamp_ns, int(first_sample_index), picked)
        if stats.first_stamp_ns is None:
            stats.first_stamp_ns = stamp_ns
        stats.last_stamp_ns = stamp_ns
        return self._maybe_estimate()

    def _validate(self, stats: InputStats, stamp_ns: int, sample_rate: float,
                  channel_names: Sequence[str], unit: str, samples: np.ndarray) -> np.ndarray:
        def reject(reason: str) -> InputRejectedError:
            stats.rejected += 1
            stats.last_error = reason
            return InputRejectedError(reason)

        if stamp_ns <= 0:
            raise reject("stamp is zero: the sensor driver sets no time")
        try:
            frames = decode_chunk(samples, channel_names, sample_rate)
        except ChunkDecodeError as err:
            raise reject(str(err)) from None
        if abs(float(sample_rate) - self.sample_rate) > 1e-6 * self.sample_rate:
            raise reject(f"sample_rate {sample_rate} Hz differs from the model's "
                         f"{self.sample_rate:g} Hz")
        missing = [c for c in (self.config.horizontal_channel, self.config.vertical_channel)
                   if c not in channel_names]
        if missing:
            raise reject(f"channels {missing} not in chunk channels {list(channel_names)}")
        try:
            acceleration_scale(unit, "g")
        except ValueError as err:
            raise reject(str(err)) from None
        return frames

    def _append(self, stamp_ns: int, first_index: int, frames: np.ndarray) -> None:
        if self._next_index is not None and first_index != self._next_index:
            # A gap (index jumps ahead) or a duplicate / sensor reset (index goes back): the
            # buffered samples are no longer contiguous with this chunk, start a new window.
            if first_index > self._next_index:
                self.gaps += 1
            else:
                self.resets += 1
            self._buffer = self._buffer[:0]
        if self._first_stamp_ns is None:
            self._first_stamp_ns = stamp_ns
        self._buffer = np.concatenate([self._buffer, frames])[-self.window:]
        self._next_index = first_index + len(frames)
        self._buffer_end_ns = stamp_ns + round(len(frames) * 1e9 / self.sample_rate)

    # ------------------------------------------------------------------ model
    def _elapsed_s(self, stamp_ns: int) -> float:
        return (stamp_ns - self._first_stamp_ns) / 1e9 + self.config.elapsed_at_start_s

    def _maybe_estimate(self) -> list[LiveEstimate]:
        if len(self._buffer) < self.window or self._buffer_end_ns is None:
            return []
        end_ns = self._buffer_end_ns
        if (self._last_snapshot_ns is not None
                and end_ns - self._last_snapshot_ns < self._period_ns):
            return []
        started = time.perf_counter()
        self._last_snapshot_ns = end_ns
        inference = self.stats.inference
        horizontal, vertical = self._buffer[:, 0], self._buffer[:, 1]
        try:
            image, features = snapshot_inputs(horizontal, vertical, self.model.snapshot)
            t_s = self._elapsed_s(end_ns)
            self.onset.update(t_s, float(rms(horizontal)))
            self._history.append(_Snapshot(t_s, image, features))
            while self._history and self._history[0].t_s < t_s - self._keep_s:
                self._history.popleft()
            estimate = self._estimate(end_ns, t_s)
        except Exception as err:  # a live node reports and goes on
            inference.failures += 1
            inference.last_failure = f"{type(err).__name__}: {err}"
            return []
        inference.windows += 1
        latency_ms = (time.perf_counter() - started) * 1e3
        inference.latency_ms_sum += latency_ms
        inference.latency_ms_max = max(inference.latency_ms_max, latency_ms)
        inference.recent_ms.append(latency_ms)
        return [estimate]

    def _estimate(self, stamp_ns: int, t_s: float) -> LiveEstimate:
        times = np.array([s.t_s for s in self._history])
        positions = sequence_positions(times, len(times) - 1, self.model.sequence)
        images = np.stack([self._history[p].image for p in positions])[None]
        features = np.stack([self._history[p].features for p in positions])[None]
        pred = self.model.predict(images, features)
        seq = self.model.sequence
        enough_history = times[-1] - times[0] >= (seq.steps - 1) * seq.spacing_s - 1e-6
        onset_s = self.onset.onset_s
        coverage = float(self.model.calibration.coverage)
        head = "piecewise" if onset_s is not None else "linear"
        # RUL rises with y, so the interval's ends map to the RUL interval's ends.
        rul, lower, upper = (_seconds(float(part[head][0]), t_s, onset_s)
                             for part in (pred.mean, pred.lower, pred.upper))
        health = float(np.clip(pred.mean["piecewise"][0], 0.0, 1.0))
        return LiveEstimate(
            stamp_ns=stamp_ns, valid=bool(enough_history and onset_s is not None), rul_s=rul,
            lower_s=min(lower, rul), upper_s=max(upper, rul), coverage=coverage,
            health_index=health, onset_s=onset_s,
            normalised={k: float(v[0]) for k, v in pred.mean.items()},
            model_name=self.config.model_name)

    def diagnostics(self) -> dict[str, object]:
        """Flat key/values in the synchroniser format of nodes/diagnostics.py (the snapshot
        buffer plays the synchroniser's part: one 'window' per snapshot)."""
        return {"windows_emitted": self.stats.inference.windows, "windows_skipped": 0,
                "windows_with_missing": 0, "resets": self.resets,
                f"{INPUT_NAME}_gaps": self.gaps, f"{INPUT_NAME}_resets": self.resets,
                "snapshots_in_history": len(self._history),
                "onset_detected": self.onset.onset_s is not None,
                "onset_s": self.onset.onset_s if self.onset.onset_s is not None else -1.0,
                "buffered_frames": len(self._buffer)}


def _seconds(y: float, t_s: float, onset_s: float | None) -> float:
    """Normalised RUL -> seconds: piecewise head after the onset, linear head before."""
    if onset_s is not None:
        return float(rul_s_from_piecewise(y, t_s, onset_s))
    return float(rul_s_from_linear(y, t_s))
