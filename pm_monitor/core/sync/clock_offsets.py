"""Per-input clock models (offset, drift) found by cross-correlating energy envelopes.

Sensors on one machine see the same events: a bearing impact shakes the accelerometer and
clicks in the microphone. When their clocks disagree, the same burst of energy carries
different stamps. Following paper 001 (section 3.2.4), each input's energy envelope (RMS on
a 1 ms grid, smoothed over 100 ms) is cross-correlated with the reference input's
(``scipy.signal.correlate`` / ``correlation_lags``, normalised) and the lag that aligns them
best within the search range (default +-50 ms) is the input's clock offset.

Choices beyond the paper, each for a measured reason (benchmarks/sync_clock_offsets.py):

* Streams are band-passed (default 1.5-5 kHz) before the envelope: the machine's tones
  (shaft harmonics on the accelerometer, mains hum in the microphone) have a flat envelope
  and differ per sensor; the impacts both sensors share ring in the kHz range.
* The envelope's slow trend (1 s moving mean) is removed before correlating, so a warming
  machine does not make every lag look alike.
* Confidence is the peak's significance: normalised correlation x sqrt(independent envelope
  samples) (window length / smoothing length). Noise alone gives about 1; an estimate counts
  when it reaches ``min_significance`` (default 4). A healthy machine whose sensors share no
  energy changes gives no confident estimate, so nothing is corrected.
* Out of range: the lag is also looked for in twice the search range, for reporting only;
  a confident peak there, outside the range, is reported as out of range and never applied.
* Drift: each estimate belongs to the middle of its window; a line through the confident
  estimates of the last ``drift_span_s`` gives offset and drift (ppm) at any time.
* Images: the envelope of an image input is its mean absolute frame-to-frame change (a
  brightness or temperature change), placed at the frame's stamp and interpolated onto the grid.

Sign: offset = input stamp - reference stamp of the same event; ``correct()`` subtracts it.
Estimation always sees the raw stamps, so a correction never feeds back into the estimate.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import signal
from scipy.ndimage import uniform_filter1d

_NS_PER_S = 1_000_000_000
_TREND_S = 1.0  # the envelope's slow trend: moving mean over this span, removed
_MIN_DRIFT_SPAN_S = 10.0  # drift is fitted once confident estimates span this much
_BLOCK_S = 0.2  # stream samples are band-passed in blocks of this length

ESTIMATING = "estimating"  # not enough overlapping data yet
LOW_CONFIDENCE = "low_confidence"  # no significant alignment (e.g. nothing shared to see)
CONFIDENT = "confident"
OUT_OF_RANGE = "out_of_range"  # the best alignment lies beyond the search range


@dataclass(frozen=True)
class ClockConfig:
    reference: str = "accel"
    search_range_s: float = 0.05
    smoothing_s: float = 0.1
    envelope_rate_hz: float = 1000.0
    window_s: float = 20.0  # envelope span of one estimate
    min_window_s: float = 5.0  # first estimate once this much overlaps
    update_period_s: float = 2.0  # stream time between estimates
    band_hz: tuple[float, float] | None = (1500.0, 5000.0)
    min_significance: float = 4.0
    drift_span_s: float = 120.0
    tolerance_s: float = 0.05  # an offset beyond this, uncorrected, breaks the windows
    apply: bool = True

    def __post_init__(self) -> None:
        if self.search_range_s <= 0 or self.smoothing_s <= 0 or self.envelope_rate_hz <= 0:
            raise ValueError("search_range_s, smoothing_s and envelope_rate_hz must be > 0")
        if not 0 < self.min_window_s <= self.window_s:
            raise ValueError("need 0 < min_window_s <= window_s")
        if self.band_hz is not None and not 0 < self.band_hz[0] < self.band_hz[1]:
            raise ValueError(f"band_hz must be (low, high) with 0 < low < high: {self.band_hz}")


@dataclass(frozen=True)
class ClockEstimate:
    """The clock model of one input relative to the reference, at stream time at_ns."""

    name: str
    status: str
    offset_s: float = 0.0  # current offset (model at at_ns); 0 until confident
    drift_ppm: float = 0.0
    significance: float = 0.0  # of the latest estimate
    correlation: float = 0.0  # peak normalised cross-correlation of the latest estimate
    applied: bool = False
    estimates: int = 0  # confident estimates so far
    last_lag_s: float = 0.0  # the latest estimate's lag (also when not confident)


@dataclass
class _Fit:
    """A line through the confident estimates (time_s, offset_s, weight)."""

    points: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=512))
    line: tuple[float, float, float] = (0.0, 0.0, 0.0)  # t_mean, offset at t_mean, slope

    def add(self, t_s: float, offset_s: float, weight: float, span_s: float) -> None:
        self.points.append((t_s, offset_s, weight))
        while self.points[-1][0] - self.points[0][0] > span_s:
            self.points.popleft()
        t = np.array([p[0] for p in self.points])
        y = np.array([p[1] for p in self.points])
        w = np.array([p[2] for p in self.points])
        if len(t) < 3 or t.max() - t.min() < _MIN_DRIFT_SPAN_S:
            self.line = (t[-1], float(np.average(y[-3:], weights=w[-3:])), 0.0)
            return
        slope, intercept = np.polyfit(t - t.mean(), y, 1, w=w)
        self.line = (float(t.mean()), float(intercept), float(slope))

    def model(self, t_s: float) -> tuple[float, float]:
        """(offset_s, drift as a fraction) at t_s."""
        t_mean, offset, slope = self.line
        return offset + slope * (t_s - t_mean), slope


class EnvelopeTrack:
    """Energy of one input on a fixed grid of bins (1 ms by default), a ring of recent bins."""

    def __init__(self, bin_ns: int, capacity: int, band_hz: tuple[float, float] | None,
                 is_image: bool) -> None:
        self.bin_ns = bin_ns
        self.capacity = capacity
        self.band_hz = band_hz
        self.is_image = is_image
        self.reset()

    def reset(self) -> None:
        self._sum = np.zeros(self.capacity)
        self._count = np.zeros(self.capacity, dtype=np.int64)
        self.newest_bin: int | None = None
        self.first_bin: int | None = None
        self._filter: tuple[float, np.ndarray, np.ndarray] | None = None  # rate, sos, zi
        self._previous: np.ndarray | None = None
        self._last_end_ns: int | None = None
        self._pending: list[tuple[int, float, np.ndarray]] = []
        self._pending_samples = 0
        self._pending_end_ns = 0

    def add_chunk(self, stamp_ns: int, rate: float, samples: np.ndarray) -> None:
        """samples: (n, channels), the first one at stamp_ns. Chunks are filtered in blocks
        of about _BLOCK_S (a filter call per 20 ms chunk cost more than the filtering)."""
        x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
        if len(x) == 0:
            return
        step_ns = _NS_PER_S / rate
        pending = self._pending
        if pending and (pending[0][1] != rate or pending[0][2].shape[1] != x.shape[1]
                        or abs(stamp_ns - self._pending_end_ns) >= 20 * step_ns + 1_000_000):
            self._flush()
        pending.append((stamp_ns, rate, x))
        self._pending_end_ns = stamp_ns + round(len(x) * step_ns)
        self._pending_samples += len(x)
        if self._pending_samples >= _BLOCK_S * rate:
            self._flush()

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        stamp_ns, rate, _ = pending[0]
        x = np.concatenate([p[2] for p in pending]) if len(pending) > 1 else pending[0][2]
        self._pending = []
        self._pending_samples = 0
        step_ns = _NS_PER_S / rate
        continuous = (self._last_end_ns is not None
                      and abs(stamp_ns - self._last_end_ns) < 20 * step_ns + 1_000_000)
        if self.band_hz is not None and self.band_hz[1] < rate / 2:
            x = self._band_pass(x, rate, continuous)
        energy = np.einsum("ij,ij->i", x, x)
        bins = (stamp_ns + np.arange(len(x)) * step_ns) // self.bin_ns
        self._last_end_ns = stamp_ns + round(len(x) * step_ns)
        self._accumulate(bins.astype(np.int64), energy)

    def add_frame(self, stamp_ns: int, image: np.ndarray) -> None:
        # every 4th pixel each way: the mean change is the same, the cost 16x lower
        frame = np.asarray(image)[::4, ::4].astype(np.float32)
        previous, self._previous = self._previous, frame
        if previous is None or previous.shape != frame.shape:
            return
        change = float(np.mean(np.abs(frame - previous)))
        self._accumulate(np.array([stamp_ns // self.bin_ns]), np.array([change * change]))

    def series(self, start_bin: int, n: int) -> np.ndarray:
        """RMS per bin for bins [start_bin, start_bin + n); NaN where nothing fell."""
        pos = (start_bin + np.arange(n)) % self.capacity
        count = self._count[pos]
        with np.errstate(invalid="ignore", divide="ignore"):
            rms = np.sqrt(self._sum[pos] / count)
        rms[count == 0] = np.nan
        return rms

    def _band_pass(self, x: np.ndarray, rate: float, continuous: bool) -> np.ndarray:
        if self._filter is None or self._filter[0] != rate or not continuous:
            sos = signal.butter(4, self.band_hz, btype="bandpass", fs=rate, output="sos")
            zi = np.zeros((sos.shape[0], 2, x.shape[1]))
            self._filter = (rate, sos, zi)
        rate_, sos, zi = self._filter
        y, zi = signal.sosfilt(sos, x, axis=0, zi=zi)
        self._filter = (rate_, sos, zi)
        return y

    def _accumulate(self, bins: np.ndarray, energy: np.ndarray) -> None:
        low, high = int(bins[0]), int(bins[-1])
        newest = self.newest_bin
        if newest is not None and low < newest - self.capacity // 2:
            self.reset()  # time went back (bag loop): start over
            newest = None
        if newest is None:
            self._sum[:] = 0
            self._count[:] = 0
            self.first_bin = low
        elif high > newest:
            cleared = min(high - newest, self.capacity)
            pos = (newest + 1 + np.arange(cleared)) % self.capacity
            self._sum[pos] = 0
            self._count[pos] = 0
        if newest is None or high > newest:
            self.newest_bin = high
        keep = bins > self.newest_bin - self.capacity
        bins, energy = bins[keep], energy[keep]
        if not len(bins):
            return
        local = bins - bins[0]
        sums = np.bincount(local, energy)
        counts = np.bincount(local)
        pos = (bins[0] + np.arange(len(sums))) % self.capacity
        self._sum[pos] += sums
        self._count[pos] += counts
        if self.first_bin is None or bins[0] < self.first_bin:
            self.first_bin = int(bins[0])


class ClockOffsets:
    """Online clock models of every input against the reference; see the module docstring."""

    def __init__(self, config: ClockConfig, streams: Iterable[str], images: Iterable[str] = (),
                 stamp_by_arrival: Iterable[str] = ()) -> None:
        self.config = config
        self.stamp_by_arrival = frozenset(stamp_by_arrival)
        self._bin_ns = round(_NS_PER_S / config.envelope_rate_hz)
        history_s = config.window_s + 4 * config.search_range_s + 2.0
        capacity = int(history_s * config.envelope_rate_hz)
        self._tracks = {name: EnvelopeTrack(self._bin_ns, capacity, config.band_hz, False)
                        for name in streams}
        self._tracks.update({name: EnvelopeTrack(self._bin_ns, capacity, None, True)
                             for name in images})
        if config.reference not in self._tracks:
            raise ValueError(f"reference input {config.reference!r} is not among the inputs")
        self._fits = {name: _Fit() for name in self._tracks if name != config.reference}
        self._latest = {name: ClockEstimate(name, ESTIMATING) for name in self._fits}
        self._next_update_bin: int | None = None
        self.estimations = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._fits)

    # ------------------------------------------------------------------ feeding (raw stamps)

    def observe_chunk(self, name: str, stamp_ns: int, rate: float, samples: np.ndarray) -> None:
        track = self._tracks.get(name)
        if track is None:
            return
        track.add_chunk(stamp_ns, rate, samples)
        self._maybe_estimate()

    def observe_frame(self, name: str, stamp_ns: int, image: np.ndarray) -> None:
        track = self._tracks.get(name)
        if track is None:
            return
        track.add_frame(stamp_ns, image)
        self._maybe_estimate()

    # ------------------------------------------------------------------ using the models

    def arrival_stamp(self, name: str, stamp_ns: int, arrival_ns: int | None,
                      duration_ns: int = 0) -> int:
        """The stamp to use: the arrival time (minus the data's span, so a chunk's first
        sample) for inputs stamped by arrival, else the stamp given."""
        if name in self.stamp_by_arrival and arrival_ns is not None and arrival_ns > 0:
            return arrival_ns - duration_ns
        return stamp_ns

    def correct(self, name: str, stamp_ns: int) -> int:
        """stamp_ns on the reference clock, when this input's model is confident and applied."""
        estimate = self._latest.get(name)
        if estimate is None or not estimate.applied:
            return stamp_ns
        offset_s, _ = self._fits[name].model(stamp_ns / _NS_PER_S)
        return stamp_ns - round(offset_s * _NS_PER_S)

    def estimates(self) -> list[ClockEstimate]:
        return [self._latest[name] for name in self._fits]

    def estimate(self, name: str) -> ClockEstimate:
        return self._latest[name]

    # ------------------------------------------------------------------ estimation

    def _maybe_estimate(self) -> None:
        reference = self._tracks[self.config.reference]
        if reference.newest_bin is None:
            return
        now = reference.newest_bin
        due = self._next_update_bin
        # far behind the schedule means time went back (bag loop): estimate at once
        if due is not None and due - 10 * self._update_bins() <= now < due:
            return
        self._next_update_bin = now + self._update_bins()
        self.estimations += 1
        for name in self._fits:
            self._latest[name] = self._estimate(name)

    def _update_bins(self) -> int:
        return round(self.config.update_period_s * self.config.envelope_rate_hz)

    def _estimate(self, name: str) -> ClockEstimate:
        config = self.config
        rate = config.envelope_rate_hz
        reference = self._tracks[config.reference]
        track = self._tracks[name]
        previous = self._latest[name]
        fit = self._fits[name]
        wide = round(2 * config.search_range_s * rate)
        if track.newest_bin is None or reference.newest_bin is None:
            return previous
        # smoothing and trend removal distort the ends: computed on a margin, then cut off
        margin = round((_TREND_S + config.smoothing_s) * rate)
        end = min(reference.newest_bin, track.newest_bin) - wide - margin
        start = max((reference.first_bin or 0) + margin, (track.first_bin or 0) + wide + margin,
                    end - round(config.window_s * rate),
                    end - reference.capacity + 2 * (wide + margin) + 1)
        n = end - start
        if n < config.min_window_s * rate:
            return self._carry(previous, ESTIMATING)
        ref = _prepare(reference.series(start - margin, n + 2 * margin), margin,
                       config.smoothing_s, rate, reference.is_image)
        # the input's span extends by the widest lag on both sides (its stamps may lead/lag)
        x = _prepare(track.series(start - wide - margin, n + 2 * (wide + margin)), margin,
                     config.smoothing_s, rate, track.is_image)
        if ref is None or x is None:
            return self._carry(previous, LOW_CONFIDENCE)
        corr = signal.correlate(x, ref, mode="valid", method="fft") / n
        lags = signal.correlation_lags(len(x), len(ref), mode="valid") - wide
        in_range = np.abs(lags) <= round(config.search_range_s * rate)
        best_in = int(np.argmax(np.where(in_range, corr, -np.inf)))
        best_all = int(np.argmax(corr))
        independent = n / (config.smoothing_s * rate)
        z_in = float(corr[best_in] * np.sqrt(independent))
        z_all = float(corr[best_all] * np.sqrt(independent))
        at_s = (start + n / 2) * self._bin_ns / _NS_PER_S
        if not in_range[best_all] and z_all >= config.min_significance:
            return ClockEstimate(name, OUT_OF_RANGE, previous.offset_s, previous.drift_ppm,
                                 z_all, float(corr[best_all]), False, previous.estimates,
                                 float(lags[best_all]) / rate)
        edge = abs(int(lags[best_in])) >= round(config.search_range_s * rate)
        if z_in < config.min_significance or edge:
            return self._carry(previous, LOW_CONFIDENCE, z_in, float(corr[best_in]),
                               float(lags[best_in]) / rate)
        lag_s = (lags[best_in] + _parabolic_peak(corr, best_in)) / rate
        fit.add(at_s, float(lag_s), z_in, config.drift_span_s)
        now_s = end * self._bin_ns / _NS_PER_S
        offset_s, slope = fit.model(now_s)
        return ClockEstimate(name, CONFIDENT, offset_s, slope * 1e6, z_in,
                             float(corr[best_in]), config.apply, previous.estimates + 1,
                             float(lag_s))

    def _carry(self, previous: ClockEstimate, status: str, z: float = 0.0, corr: float = 0.0,
               lag_s: float = 0.0) -> ClockEstimate:
        """A model found earlier stays in force (and applied) while new data says nothing."""
        keep = previous.estimates > 0
        return ClockEstimate(previous.name, CONFIDENT if keep else status, previous.offset_s,
                             previous.drift_ppm, z, corr, previous.applied and keep,
                             previous.estimates, lag_s)


def _prepare(rms: np.ndarray, margin: int, smoothing_s: float, rate: float,
             sparse: bool) -> np.ndarray | None:
    """Envelope ready to correlate: gaps filled, smoothed RMS, trend removed, the margin at
    both ends cut off, unit variance. A stream must cover half the bins; an image input
    (sparse: one bin per frame) needs two frames per second."""
    known = np.isfinite(rms)
    needed = 2.0 * len(rms) / rate if sparse else 0.5 * len(rms)
    if known.sum() < needed:
        return None
    if not known.all():
        index = np.arange(len(rms))
        rms = np.interp(index, index[known], rms[known])
    smooth = uniform_filter1d(rms, max(1, round(smoothing_s * rate)), mode="nearest")
    detrended = smooth - uniform_filter1d(smooth, max(1, round(_TREND_S * rate)),
                                          mode="nearest")
    detrended = detrended[margin:len(detrended) - margin]
    std = detrended.std()
    if not np.isfinite(std) or std <= 1e-12:
        return None
    return (detrended - detrended.mean()) / std


def _parabolic_peak(values: np.ndarray, k: int) -> float:
    """Sub-bin position of a peak from its two neighbours (0 at the edges)."""
    if k <= 0 or k >= len(values) - 1:
        return 0.0
    left, centre, right = values[k - 1], values[k], values[k + 1]
    denominator = left - 2 * centre + right
    return float(0.5 * (left - right) / denominator) if denominator < 0 else 0.0


def clock_status(estimates: list[ClockEstimate], tolerance_s: float) -> tuple[str, str]:
    """('ok' | 'warn' | 'error', message) for /diagnostics: ERROR when an offset beyond what
    the windows tolerate is not corrected (out of the search range, or correction off)."""
    problems, notes = [], []
    for e in estimates:
        if e.status == OUT_OF_RANGE:
            problems.append(f"{e.name}: offset about {e.last_lag_s * 1e3:+.0f} ms, beyond the "
                            "search range: not corrected")
        elif e.status == CONFIDENT and not e.applied and abs(e.offset_s) > tolerance_s:
            problems.append(f"{e.name}: offset {e.offset_s * 1e3:+.1f} ms exceeds "
                            f"{tolerance_s * 1e3:.0f} ms and is not corrected")
        elif e.status == CONFIDENT:
            notes.append(f"{e.name} {e.offset_s * 1e3:+.1f} ms{' corrected' if e.applied else ''}")
    if problems:
        return "error", "; ".join(problems)
    if notes:
        return "ok", "clock offsets: " + ", ".join(notes)
    return "ok", "no confident clock offset (nothing shared to align yet)"
