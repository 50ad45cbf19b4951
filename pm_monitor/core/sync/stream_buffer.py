"""Time-indexed ring buffer for one continuous sample stream (microphone, accelerometer).

Samples are placed by the sensor's sample counter, not by arrival: chunk k holds samples
``first_sample_index .. first_sample_index + n - 1``. One (stamp, index) anchor pair maps index
to time, ``time(k) = anchor_ns + (k - anchor_index) / rate`` rounded up to the nanosecond, so a
window is exact to the sample and independent of chunk boundaries or stamp jitter.

Decision table for an incoming chunk (residual = its stamp minus the stamp its index implies):

====================================  ==============================================
first chunk                           anchor on it
sample rate differs                   reset the stream, RATE_CHANGE warning
residual within tolerance, index new  append; an index jump leaves an invalid gap
residual within tolerance, index old  fill what is still invalid (late chunk), count
                                      the rest as duplicate; a chunk ending more than
                                      ``max_reorder_s`` before the newest sample is a
                                      restart, not a late chunk: reset (bag loop)
residual beyond tolerance, index new  the stamp jumped: re-anchor by shifting the index
                                      so the chunk sits at its stamp (the span skipped
                                      is a gap, older samples keep their times),
                                      STAMP_JUMP warning; if that would place it before
                                      the newest sample, time went backwards: reset
residual beyond tolerance, index old  sensor restarted its counter or clock: reset
====================================  ==============================================

Residuals within tolerance nudge the anchor by a small gain, so the slow drift between the
sensor clock and the stamping clock is followed without re-anchor warnings.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pm_monitor.core.sync.events import SyncEvent, SyncEventKind
from pm_monitor.core.sync.window import StreamWindow

# Far above any accelerometer or microphone (192 kHz audio); the pipeline refuses the same.
MAX_SAMPLE_RATE_HZ = 1_000_000.0
MAX_SAMPLE_INDEX = 2**62  # sensor counters beyond this are refused (int64 ring arithmetic)

_NS_PER_S = 1_000_000_000


@dataclass
class StreamBufferStats:
    """Counters of one stream buffer (chunks counts chunks received, samples new samples)."""

    chunks: int = 0
    samples: int = 0
    gaps: int = 0
    gap_samples: int = 0
    duplicates: int = 0  # chunks that brought no new sample
    out_of_order: int = 0  # late chunks placed into a gap
    late_samples: int = 0  # samples older than the buffer, dropped
    resets: int = 0
    reanchors: int = 0


class StreamRingBuffer:
    """Preallocated ring of the last ``capacity_s`` seconds of one stream, by sample index."""

    def __init__(
        self,
        name: str,
        n_channels: int,
        capacity_s: float = 5.0,
        channel_names: Sequence[str] | None = None,
        stamp_tolerance_s: float = 0.01,
        max_reorder_s: float = 1.0,
        drift_gain: float = 0.05,
    ) -> None:
        if n_channels < 1 or capacity_s <= 0:
            raise ValueError("need n_channels >= 1 and capacity_s > 0")
        names = tuple(channel_names) if channel_names else tuple(
            f"{name}_{c}" for c in range(n_channels)
        )
        if len(names) != n_channels:
            raise ValueError("one channel name per channel")
        self.name = name
        self.n_channels = n_channels
        self.channel_names = names
        self.capacity_s = capacity_s
        self._tolerance_ns = round(stamp_tolerance_s * _NS_PER_S)
        self._max_reorder_s = max_reorder_s
        self._drift_gain = drift_gain
        self.stats = StreamBufferStats()
        self._data = np.zeros((0, n_channels), dtype=np.float32)
        self._valid = np.zeros(0, dtype=bool)
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> None:
        """Forget all samples and the time anchor (counters are kept)."""
        self._rate: float | None = None
        self._rate_num = 1  # rate = num / den samples per second, exactly
        self._rate_den = 1
        self._capacity = 0
        self._anchor_index = 0
        self._anchor_ns = 0
        self._index_offset = 0  # internal index = sensor index + offset (moved on re-anchor)
        self._end = 0  # one past the newest internal index written
        self._valid[:] = False

    @property
    def sample_rate(self) -> float | None:
        return self._rate

    @property
    def has_data(self) -> bool:
        return self._rate is not None

    @property
    def latest_time_ns(self) -> int | None:
        """Stamp of the newest sample received, None when empty."""
        return self.time_of_index(self._end - 1) if self._rate is not None else None

    def time_of_index(self, internal_index: int) -> int:
        """Stamp of a sample, by internal index (the sensor index shifted by re-anchors)."""
        num = (internal_index - self._anchor_index) * _NS_PER_S * self._rate_den
        return self._anchor_ns - (-num // self._rate_num)  # ceil division

    def index_at_or_before(self, t_ns: int) -> int:
        """Internal index of the last sample whose stamp is <= t_ns."""
        offset = (t_ns - self._anchor_ns) * self._rate_num
        return self._anchor_index + offset // (_NS_PER_S * self._rate_den)

    def add_chunk(
        self,
        stamp_ns: int,
        sample_rate: float,
        first_sample_index: int,
        samples: np.ndarray,
    ) -> list[SyncEvent]:
        """Store one chunk; return the events it caused (empty in the normal case).

        samples: (n, n_channels) (or (n,) for one channel), converted to float32.
        stamp_ns is the stamp of the first sample, first_sample_index its sensor counter.
        """
        block = np.asarray(samples, dtype=np.float32)
        if block.ndim == 1 and self.n_channels == 1:
            block = block.reshape(-1, 1)
        if block.ndim != 2 or block.shape[1] != self.n_channels:
            raise ValueError(f"{self.name}: expected (n, {self.n_channels}) samples")
        if not (math.isfinite(sample_rate) and 0 < sample_rate <= MAX_SAMPLE_RATE_HZ):
            # NaN / inf would break the Fraction arithmetic, a huge rate would allocate
            # gigabytes for capacity_s of stream: refuse both here, not only in the pipeline
            raise ValueError(f"{self.name}: sample rate must be finite and in "
                             f"(0, {MAX_SAMPLE_RATE_HZ:g}] Hz, got {sample_rate!r}")
        if not 0 <= first_sample_index < MAX_SAMPLE_INDEX:
            # the ring arithmetic runs in int64 numpy: a counter near 2**63 (a corrupt or
            # uninitialised uint64 field) would overflow into negative positions
            raise ValueError(f"{self.name}: first_sample_index must be in [0, 2**62), got "
                             f"{first_sample_index}")
        self.stats.chunks += 1
        if len(block) == 0:
            return []
        events: list[SyncEvent] = []
        if self._rate is None:
            self._start_stream(stamp_ns, sample_rate, first_sample_index)
            first = first_sample_index
        elif not math.isclose(sample_rate, self._rate, rel_tol=1e-9):
            detail = f"sample rate {self._rate:g} -> {sample_rate:g} Hz"
            self._restart(events, SyncEventKind.RATE_CHANGE, stamp_ns, detail)
            self._start_stream(stamp_ns, sample_rate, first_sample_index)
            first = first_sample_index
        else:
            first = self._place(stamp_ns, first_sample_index, len(block), events)
        if first < self._end:
            self._fill(first, block, stamp_ns, events)
        else:
            self._append(first, block, stamp_ns, events)
        return events

    def window(self, t_end_ns: int, duration_s: float) -> StreamWindow | None:
        """The round(duration_s * rate) samples ending at the last sample stamped <= t_end_ns.

        Positions not received (gaps, before the first or after the newest sample) are zero
        with valid False. None when the stream holds no sample in that span.
        """
        if self._rate is None:
            return None
        n = max(1, round(duration_s * self._rate))
        last = self.index_at_or_before(t_end_ns)
        first = last - n + 1
        lo = max(first, self._end - self._capacity)
        hi = min(last + 1, self._end)
        if lo >= hi:
            return None
        samples = np.zeros((n, self.n_channels), dtype=np.float32)
        valid = np.zeros(n, dtype=bool)
        for ring_lo, ring_hi, out_lo in self._ring_spans(lo, hi):
            out_hi = out_lo + ring_hi - ring_lo
            samples[out_lo - first : out_hi - first] = self._data[ring_lo:ring_hi]
            valid[out_lo - first : out_hi - first] = self._valid[ring_lo:ring_hi]
        if not valid.any():
            return None
        if not valid.all():
            samples[~valid] = 0.0  # ring slots of a gap still hold older samples
        return StreamWindow(
            samples=samples,
            sample_rate=self._rate,
            channel_names=self.channel_names,
            t_start_ns=self.time_of_index(first),
            valid=valid,
        )

    # ------------------------------------------------------------------ placement

    def _place(self, stamp_ns: int, sensor_index: int, n: int, events: list[SyncEvent]) -> int:
        """Internal index of a chunk of an anchored stream (restarting the stream if needed)."""
        rate = self._rate
        assert rate is not None
        first = sensor_index + self._index_offset
        residual = stamp_ns - self.time_of_index(first)
        if abs(residual) <= self._tolerance_ns:
            reorder_samples = round(min(self._max_reorder_s, self.capacity_s) * rate)
            if first + n <= self._end - reorder_samples:
                detail = f"index went back by {self._end - first} samples"
                self._restart(events, SyncEventKind.SENSOR_RESET, stamp_ns, detail)
                self._start_stream(stamp_ns, rate, sensor_index)
                return sensor_index
            if first >= self._end and self._drift_gain > 0:
                self._anchor_ns += round(residual * self._drift_gain)
            return first
        if first >= self._end:
            shift = round(residual * self._rate_num / (_NS_PER_S * self._rate_den))
            if first + shift >= self._end:
                self._index_offset += shift
                self.stats.reanchors += 1
                events.append(
                    SyncEvent(
                        SyncEventKind.STAMP_JUMP,
                        self.name,
                        stamp_ns,
                        f"stamp off by {residual / 1e6:.1f} ms from the sample index: "
                        "re-anchored",
                    )
                )
                return first + shift
            detail = f"stamp went back by {-residual / 1e6:.1f} ms"
        else:
            detail = (
                f"index went back by {self._end - first} samples, stamp off by "
                f"{residual / 1e6:.1f} ms"
            )
        self._restart(events, SyncEventKind.SENSOR_RESET, stamp_ns, detail)
        self._start_stream(stamp_ns, rate, sensor_index)
        return sensor_index

    def _start_stream(self, stamp_ns: int, sample_rate: float, sensor_index: int) -> None:
        rate = Fraction(sample_rate)
        self._rate = float(sample_rate)
        self._rate_num, self._rate_den = rate.numerator, rate.denominator
        capacity = max(1, math.ceil(self.capacity_s * sample_rate))
        if len(self._data) != capacity:
            self._data = np.zeros((capacity, self.n_channels), dtype=np.float32)
            self._valid = np.zeros(capacity, dtype=bool)
        else:
            self._valid[:] = False
        self._capacity = capacity
        self._anchor_index = sensor_index
        self._anchor_ns = stamp_ns
        self._index_offset = 0
        self._end = sensor_index

    def _restart(
        self, events: list[SyncEvent], kind: SyncEventKind, stamp_ns: int, detail: str
    ) -> None:
        self.stats.resets += 1
        events.append(SyncEvent(kind, self.name, stamp_ns, detail + ": stream reset"))
        self.reset()

    # ------------------------------------------------------------------ writing

    def _append(
        self, first: int, block: np.ndarray, stamp_ns: int, events: list[SyncEvent]
    ) -> None:
        """Write a chunk at or after the newest sample; an index jump leaves a gap."""
        if first > self._end:
            missing = first - self._end
            self.stats.gaps += 1
            self.stats.gap_samples += missing
            events.append(
                SyncEvent(
                    SyncEventKind.GAP,
                    self.name,
                    stamp_ns,
                    f"{missing} samples ({missing / self._rate * 1e3:.1f} ms) missing",
                )
            )
            self._set_valid(max(self._end, first - self._capacity), first, False)
        n = len(block)
        if n > self._capacity:
            block = block[n - self._capacity :]
            first += n - self._capacity
            n = self._capacity
        self._write(first, block)
        self._end = first + n
        self.stats.samples += n

    def _fill(
        self, first: int, block: np.ndarray, stamp_ns: int, events: list[SyncEvent]
    ) -> None:
        """Place a chunk that starts before the newest sample (late or repeated)."""
        old_end = self._end
        n = len(block)
        new_samples = 0
        if first + n > old_end:
            tail = old_end - first
            self._append(old_end, block[tail:], stamp_ns, events)
            new_samples += n - tail
        lo = max(first, self._end - self._capacity)
        hi = min(first + n, old_end)
        self.stats.late_samples += max(0, min(lo, hi) - first)
        if lo < hi:
            ring = np.arange(lo, hi) % self._capacity
            missing = ~self._valid[ring]
            if missing.any():
                self._data[ring[missing]] = block[lo - first : hi - first][missing]
                self._valid[ring[missing]] = True
                new_samples += int(missing.sum())
                self.stats.samples += int(missing.sum())
        if first + n > old_end:
            return  # overlapping resend that also brought new samples: not noteworthy
        if new_samples:
            self.stats.out_of_order += 1
            kind, detail = SyncEventKind.OUT_OF_ORDER, f"{new_samples} late samples placed"
        else:
            self.stats.duplicates += 1
            kind, detail = SyncEventKind.DUPLICATE, f"{n} samples already received"
        events.append(SyncEvent(kind, self.name, stamp_ns, detail))

    def _ring_spans(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(ring_lo, ring_hi, index_lo) slices covering internal indices [lo, hi)."""
        cap = self._capacity
        start = lo % cap
        first_len = min(hi - lo, cap - start)
        spans = [(start, start + first_len, lo)]
        if first_len < hi - lo:
            spans.append((0, hi - lo - first_len, lo + first_len))
        return spans

    def _write(self, first: int, block: np.ndarray) -> None:
        for ring_lo, ring_hi, index_lo in self._ring_spans(first, first + len(block)):
            offset = index_lo - first
            self._data[ring_lo:ring_hi] = block[offset : offset + ring_hi - ring_lo]
            self._valid[ring_lo:ring_hi] = True

    def _set_valid(self, lo: int, hi: int, value: bool) -> None:
        if lo >= hi:
            return
        for ring_lo, ring_hi, _ in self._ring_spans(lo, hi):
            self._valid[ring_lo:ring_hi] = value
