"""Assembles AnalysisWindows from continuous streams and image inputs, in stream time.

Window end times t lie on a fixed grid (multiples of ``hop_s`` since the epoch). The window
at t holds, for every stream, the samples ending at t (``StreamRingBuffer.window``) and, for
the image inputs, the frame set nearest t.

Frame selection: the frames of the live image inputs are grouped into sets by the
ApproximateTime matcher (image_sets.py: the tightest sets, each frame used at most once), so
Stage 2 sees a camera and a thermal frame from one moment; the window takes the set whose
time (middle of its stamps) is nearest t, if within the set's slop (the largest slop of its
inputs; matched frames lie at most that far apart, ``max_interval``). A set held by the
matcher longer than ``image_latency_budget_s`` of stream time is emitted as it stands.

When a window is emitted: once every live input can no longer improve it, i.e. every live
stream has a sample stamped at or after t, every live image input has a frame stamped at or
after t, and no set still to come can be nearer t than the best one out (sets come out in
time order; a future set holds only frames stamped at or after the earliest one pending). An
input is live until it has been silent for ``timeout_s`` of stream time (the newest stamp
seen on any input, never the wall clock: recordings may play faster than real time). A window
is emitted with whatever it has; inputs absent from it are named in ``missing`` (silent,
no frame within slop, or stream coverage below ``min_coverage``). It is not emitted (counted
as skipped) when nothing at all is present or a ``required`` input is missing.

Time discontinuities: data more than ``max_reorder_s`` older than the newest of its input
means stream time went backwards (bag loop, rig restart): everything is reset and the grid
starts over (TIME_BACKWARDS). A stamp more than ``max_forward_jump_s`` beyond the newest
stamp flushes the pending windows with the data at hand and restarts the grid at the new
data (TIME_FORWARD). Warnings go to the ``on_event`` callback, or are queued for
``drain_events()``.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from pm_monitor.core.sync.approximate_time import DUPLICATE, LATE
from pm_monitor.core.sync.drops import DropMonitor
from pm_monitor.core.sync.events import SyncEvent, SyncEventKind
from pm_monitor.core.sync.image_sets import FrameSet, ImageSetMatcher
from pm_monitor.core.sync.stream_buffer import StreamRingBuffer
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample

_NS_PER_S = 1_000_000_000
_SOURCE = "window_assembler"
# stream events that mean data was thrown away (the rest only inform)
_STREAM_DROPS = frozenset({SyncEventKind.LATE, SyncEventKind.DUPLICATE})


@dataclass(frozen=True)
class StreamSpec:
    """A continuous stream; timeout_s None means the assembler's default."""

    name: str
    n_channels: int
    channel_names: tuple[str, ...] = ()
    timeout_s: float | None = None


@dataclass(frozen=True)
class ImageSpec:
    """An image input; a frame is used for a window only within slop_s of its end time."""

    name: str
    slop_s: float = 0.05
    timeout_s: float | None = None


@dataclass(frozen=True)
class WindowAssemblerConfig:
    streams: tuple[StreamSpec, ...] = ()
    images: tuple[ImageSpec, ...] = ()
    window_s: float = 1.0
    hop_s: float = 0.5
    timeout_s: float = 2.0
    required: tuple[str, ...] = ()
    min_coverage: float = 0.5  # below this a stream counts as missing from the window
    max_reorder_s: float = 1.0  # older data than this behind its input's newest: time went back
    max_forward_jump_s: float = 10.0
    stamp_tolerance_s: float = 0.01  # chunk stamp vs sample index, see StreamRingBuffer
    # frames per image input the matcher holds (x its rate ratio once known): enough for a
    # 30 Hz camera while a slower input lags by up to two seconds
    image_queue_size: int = 64
    image_latency_budget_s: float = 0.1  # a frame set is emitted at the latest this late
    drop_warn_after_s: float = 5.0  # an input with everything dropped this long: starving

    def __post_init__(self) -> None:
        names = [s.name for s in self.streams] + [i.name for i in self.images]
        if not names:
            raise ValueError("configure at least one stream or image input")
        if len(set(names)) != len(names):
            raise ValueError(f"input names must be unique: {names}")
        if unknown := set(self.required) - set(names):
            raise ValueError(f"required inputs not configured: {sorted(unknown)}")
        if self.window_s <= 0 or self.hop_s <= 0 or self.timeout_s <= 0:
            raise ValueError("window_s, hop_s and timeout_s must be positive")
        if self.max_forward_jump_s <= self.timeout_s:
            raise ValueError("max_forward_jump_s must exceed timeout_s")
        if self.image_queue_size < 1 or self.image_latency_budget_s < 0:
            raise ValueError("image_queue_size must be >= 1, image_latency_budget_s >= 0")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.streams) + tuple(i.name for i in self.images)


@dataclass
class AssemblerStats:
    windows_emitted: int = 0
    windows_with_missing: int = 0
    windows_skipped_empty: int = 0  # no input had anything for the window
    windows_skipped_required: int = 0  # a required input was missing
    missing_by_input: Counter[str] = field(default_factory=Counter)
    frames_received: int = 0
    frames_rejected: int = 0  # duplicates and frames too late for any window
    frames_used: int = 0  # frames that served at least one window
    sets_unused: int = 0  # frame sets no window took
    frame_spread_count: Counter[str] = field(default_factory=Counter)
    frame_spread_sum_ns: Counter[str] = field(default_factory=Counter)
    frame_spread_max_ns: Counter[str] = field(default_factory=Counter)
    resets: int = 0
    events_by_kind: Counter[str] = field(default_factory=Counter)

    def mean_frame_spread_ns(self, image: str | None = None) -> float:
        """Mean |frame stamp - window end| of chosen frames (of one image input, or all)."""
        keys = [image] if image else list(self.frame_spread_count)
        count = sum(self.frame_spread_count[k] for k in keys)
        return sum(self.frame_spread_sum_ns[k] for k in keys) / count if count else 0.0

    def max_frame_spread_ns(self) -> int:
        return max(self.frame_spread_max_ns.values(), default=0)


class WindowAssembler:
    """Feed chunks and frames; collect AnalysisWindows in time order, each exactly once."""

    def __init__(
        self,
        config: WindowAssemblerConfig,
        on_event: Callable[[SyncEvent], None] | None = None,
    ) -> None:
        self.config = config
        self.stats = AssemblerStats()
        self._on_event = on_event
        self._pending_events: list[SyncEvent] = []
        self._window_ns = round(config.window_s * _NS_PER_S)
        self._hop_ns = round(config.hop_s * _NS_PER_S)
        self._reorder_ns = round(config.max_reorder_s * _NS_PER_S)
        self._forward_jump_ns = round(config.max_forward_jump_s * _NS_PER_S)
        capacity_s = config.window_s + config.hop_s + config.timeout_s + config.max_reorder_s
        self._streams = {
            spec.name: StreamRingBuffer(
                spec.name,
                spec.n_channels,
                capacity_s=capacity_s,
                channel_names=spec.channel_names or None,
                stamp_tolerance_s=config.stamp_tolerance_s,
                max_reorder_s=config.max_reorder_s,
            )
            for spec in config.streams
        }
        self._slop_ns = {spec.name: round(spec.slop_s * _NS_PER_S) for spec in config.images}
        self._max_slop_ns = max(self._slop_ns.values(), default=0)
        self._budget_ns = round(config.image_latency_budget_s * _NS_PER_S)
        self._image_sets = ImageSetMatcher(
            [spec.name for spec in config.images], config.image_queue_size,
            self._max_slop_ns, self._budget_ns, self._frame_dropped)
        self._newest_frame_ns: dict[str, int] = {}
        self._sets: list[FrameSet] = []
        self._set_times: list[int] = []
        self._set_used: list[bool] = []
        self.drops = DropMonitor(config.drop_warn_after_s)
        specs: list[StreamSpec | ImageSpec] = [*config.streams, *config.images]
        self._timeout_ns = {
            spec.name: round((spec.timeout_s or config.timeout_s) * _NS_PER_S) for spec in specs
        }
        self._required = frozenset(config.required)
        self._clear_timeline()

    # ------------------------------------------------------------------ feeding

    def add_chunk(
        self,
        name: str,
        stamp_ns: int,
        sample_rate: float,
        first_sample_index: int,
        samples: np.ndarray,
    ) -> list[AnalysisWindow]:
        """Add a chunk of stream `name`; return the windows that became complete."""
        buffer = self._streams[name]
        newest = buffer.latest_time_ns
        windows: list[AnalysisWindow] = []
        if newest is not None and stamp_ns < newest - self._reorder_ns:
            self._time_went_back(name, stamp_ns, newest)
        else:
            self._check_forward_jump(stamp_ns, windows)
        for event in buffer.add_chunk(stamp_ns, sample_rate, first_sample_index, samples):
            self._report(event)
        latest = buffer.latest_time_ns
        if latest is not None:
            self._saw_data(name, latest)
        windows.extend(self._emit_ready())
        return windows

    def add_frame(
        self, name: str, stamp_ns: int, image: np.ndarray, frame_id: str = ""
    ) -> list[AnalysisWindow]:
        """Add a frame of image input `name`; return the windows that became complete."""
        if name not in self._slop_ns:
            raise KeyError(name)
        newest = self._newest_frame_ns.get(name)
        windows: list[AnalysisWindow] = []
        if newest is not None and stamp_ns < newest - self._reorder_ns:
            self._time_went_back(name, stamp_ns, newest)
        else:
            self._check_forward_jump(stamp_ns, windows)
        self.stats.frames_received += 1
        in_order = newest is None or stamp_ns > newest
        if self._next_t is not None and stamp_ns < self._next_t - 2 * self._max_slop_ns:
            # No window still to come can take a set holding this frame (a set's frames lie
            # within the slop of each other, its time within the slop of the window end).
            if in_order:  # e.g. before the first window: unused, nothing wrong
                self._newest_frame_ns[name] = stamp_ns
                self._saw_data(name, stamp_ns)
            else:
                self._frame_dropped(name, stamp_ns, DUPLICATE if stamp_ns == newest else LATE)
            return windows
        if in_order:  # (a reordered or repeated frame says nothing new about liveness)
            self._newest_frame_ns[name] = stamp_ns
            self._saw_data(name, stamp_ns)
        self._keep_sets(self._image_sets.add(name, FrameSample(stamp_ns, image, frame_id)))
        windows.extend(self._emit_ready())
        return windows

    def flush(self) -> list[AnalysisWindow]:
        """Emit every pending window ending at or before the newest stamp, with what is there.

        For the end of a recording: inputs that have not reached a window are treated as
        silent instead of being waited for.
        """
        return self._emit_ready(flush=True)

    def reset(self) -> None:
        """Forget all data and restart the grid (statistics are kept)."""
        for buffer in self._streams.values():
            buffer.reset()
        self._image_sets.reset()
        self._discard_sets(len(self._sets))
        self._newest_frame_ns.clear()
        self.drops.reset_timeline()
        self._clear_timeline()
        self.stats.resets += 1

    def drain_events(self) -> list[SyncEvent]:
        """Events queued since the last call (only when no on_event callback was given)."""
        events, self._pending_events = self._pending_events, []
        return events

    @property
    def frames_dropped(self) -> int:
        """Frames never used by any window (rejected, never matched, in sets no window
        took, or lost in resets)."""
        return self.stats.frames_received - self.stats.frames_used - self.frames_held

    def matcher_diagnostics(self) -> dict[str, object]:
        """The frame matcher's counters for /diagnostics: sets, spread, emission delay,
        sets emitted by the latency budget, and frames dropped per input and reason."""
        st = self._image_sets.stats
        values: dict[str, object] = {
            "frame_sets": st.sets, "frame_sets_unused": self.stats.sets_unused,
            "set_spread_mean_ms": st.mean_spread_ns / 1e6,
            "set_spread_max_ms": st.spread_max_ns / 1e6,
            "set_emission_delay_mean_ms": st.mean_delay_ns / 1e6,
            "set_emission_delay_p99_ms": st.delay_percentile_ns(0.99) / 1e6,
            "sets_forced_by_latency_budget": st.forced}
        for (name, reason), count in sorted(st.drops.items()):
            values[f"{name}_dropped_{reason}"] = count
        return values

    @property
    def image_sets(self) -> ImageSetMatcher:
        """The frame matcher (for its counters in diagnostics)."""
        return self._image_sets

    @property
    def clock_ns(self) -> int | None:
        """Stream time: the newest stamp seen on any input."""
        return self._clock_ns

    @property
    def next_window_end_ns(self) -> int | None:
        return self._next_t

    @property
    def stream_buffers(self) -> Mapping[str, StreamRingBuffer]:
        """The per-stream buffers, read-only (for their counters in diagnostics)."""
        return MappingProxyType(self._streams)

    # ------------------------------------------------------------------ timeline

    def _clear_timeline(self) -> None:
        self._clock_ns: int | None = None  # newest stamp seen on any input
        self._start_ns = 0  # when the current timeline began (timeout of silent inputs)
        self._next_t: int | None = None
        self._last_data_ns: dict[str, int] = {}
        self._timed_out: set[str] = set()

    def _saw_data(self, name: str, stamp_ns: int) -> None:
        if self._clock_ns is None:
            self._clock_ns = self._start_ns = stamp_ns
            self._next_t = self._grid_at_or_after(stamp_ns + self._window_ns)
        elif stamp_ns > self._clock_ns:
            self._clock_ns = stamp_ns
        previous = self._last_data_ns.get(name)
        if previous is None or stamp_ns > previous:
            self._last_data_ns[name] = stamp_ns
        if name in self._timed_out:
            self._timed_out.discard(name)
            self._report(SyncEvent(SyncEventKind.MODALITY_RESUMED, name, stamp_ns, "delivering"))
            self._update_live_images()

    def _grid_at_or_after(self, t_ns: int) -> int:
        return -(-t_ns // self._hop_ns) * self._hop_ns

    def _time_went_back(self, name: str, stamp_ns: int, newest_ns: int) -> None:
        back_s = (newest_ns - stamp_ns) / _NS_PER_S
        self.reset()
        self._report(
            SyncEvent(
                SyncEventKind.TIME_BACKWARDS,
                name,
                stamp_ns,
                f"stamp {back_s:.3f} s older than the newest: all inputs reset",
            )
        )

    def _check_forward_jump(self, stamp_ns: int, windows: list[AnalysisWindow]) -> None:
        clock = self._clock_ns
        if clock is None or stamp_ns <= clock + self._forward_jump_ns:
            return
        windows.extend(self._emit_ready(flush=True))
        self._next_t = self._grid_at_or_after(stamp_ns + self._window_ns)
        self._start_ns = stamp_ns
        self._report(
            SyncEvent(
                SyncEventKind.TIME_FORWARD,
                _SOURCE,
                stamp_ns,
                f"stream time leapt {(stamp_ns - clock) / _NS_PER_S:.3f} s ahead: "
                "pending windows flushed",
            )
        )

    # ------------------------------------------------------------------ emission

    def _newest_ns(self, name: str) -> int | None:
        buffer = self._streams.get(name)
        if buffer is not None:
            return buffer.latest_time_ns
        return self._newest_frame_ns.get(name)

    def _waits_for(self, name: str, t_ns: int) -> bool:
        """Whether the window at t must wait for more data from input `name`."""
        newest = self._newest_ns(name)
        if newest is not None and newest >= t_ns:
            return False
        assert self._clock_ns is not None
        silent_since = self._last_data_ns.get(name, self._start_ns)
        if self._clock_ns - silent_since <= self._timeout_ns[name]:
            return True
        if name not in self._timed_out:
            self._timed_out.add(name)
            self._report(
                SyncEvent(
                    SyncEventKind.MODALITY_TIMEOUT,
                    name,
                    self._clock_ns,
                    f"silent for {(self._clock_ns - silent_since) / _NS_PER_S:.3f} s: "
                    "windows go on without it",
                )
            )
            self._update_live_images()
        return False

    def _update_live_images(self) -> None:
        live = [n for n in self._slop_ns if n not in self._timed_out]
        self._keep_sets(self._image_sets.set_live(live))

    def _sets_settled(self, t_ns: int) -> bool:
        """Whether no frame set still to come can be nearer t than the best one out."""
        if not self._image_sets.live:
            return True
        times = self._set_times
        if times and times[-1] >= t_ns:
            return True
        earliest = self._image_sets.earliest_pending_ns()
        if earliest is None:
            return False
        best_gap = t_ns - times[-1] if times else None
        if best_gap is not None and earliest - t_ns >= best_gap:
            return True
        return earliest - t_ns > self._max_slop_ns

    def _emit_ready(self, flush: bool = False) -> list[AnalysisWindow]:
        windows: list[AnalysisWindow] = []
        names = self.config.input_names
        if self._clock_ns is not None:
            self._keep_sets(self._image_sets.expire(self._clock_ns))
        while self._next_t is not None and self._clock_ns is not None:
            t = self._next_t
            if flush:
                if t > self._clock_ns:
                    break
                self._flush_sets_for(t)
            elif any(self._waits_for(name, t) for name in names) or not self._sets_settled(t):
                break
            window = self._assemble(t)
            if window is not None:
                windows.append(window)
            self._next_t = t + self._hop_ns
            self._discard_sets(bisect_left(self._set_times, self._next_t - self._max_slop_ns))
        if flush:
            self._update_live_images()
        return windows

    def _flush_sets_for(self, t_ns: int) -> None:
        """At the end of a recording: match the queued frames among the image inputs that
        reached t (the others are treated as silent) and emit any set held back."""
        reached = [n for n in self._slop_ns
                   if self._newest_frame_ns.get(n, t_ns - self._max_slop_ns - 1)
                   >= t_ns - self._max_slop_ns]
        self._keep_sets(self._image_sets.set_live(reached))
        if self._clock_ns is not None:
            self._keep_sets(self._image_sets.expire(self._clock_ns + self._budget_ns + 1))

    # ------------------------------------------------------------------ frame sets

    def _keep_sets(self, sets: list[FrameSet]) -> None:
        for frame_set in sets:
            self._sets.append(frame_set)
            self._set_times.append(frame_set.time_ns)
            self._set_used.append(False)

    def _discard_sets(self, count: int) -> None:
        if count <= 0:
            return
        self.stats.sets_unused += count - sum(self._set_used[:count])
        del self._sets[:count]
        del self._set_times[:count]
        del self._set_used[:count]

    @property
    def frames_held(self) -> int:
        """Frames in sets kept for windows to come, or queued in the matcher, unused so far."""
        held = sum(len(s.frames) for s, used in zip(self._sets, self._set_used, strict=True)
                   if not used)
        return held + self._image_sets.queued_frames()

    def _set_slops(self, slop_ns: dict[str, int]) -> None:
        """New image slops (a ROS parameter): frames held are kept and matched again."""
        self._slop_ns = dict(slop_ns)
        self._max_slop_ns = max(slop_ns.values(), default=0)
        self._keep_sets(self._image_sets.set_max_interval(self._max_slop_ns))

    def _nearest_set(self, t_ns: int) -> int | None:
        times = self._set_times
        pos = bisect_left(times, t_ns)
        best = None
        if pos < len(times):
            best = pos
        if pos > 0 and (best is None or t_ns - times[pos - 1] <= times[pos] - t_ns):
            best = pos - 1
        return best

    def _could_have_served_a_past_window(self, name: str, stamp_ns: int) -> bool:
        """Whether a grid point already passed lies within the input's slop of stamp_ns."""
        nearest_grid = (stamp_ns + self._hop_ns // 2) // self._hop_ns * self._hop_ns
        passed = self._next_t is not None and nearest_grid < self._next_t
        return passed and abs(stamp_ns - nearest_grid) <= self._slop_ns[name]

    def _frame_dropped(self, name: str, stamp_ns: int, reason: str) -> None:
        if reason == DUPLICATE:
            self.stats.frames_rejected += 1
            self._report(SyncEvent(SyncEventKind.DUPLICATE, name, stamp_ns, "frame dropped"))
        elif reason == LATE:
            self.stats.frames_rejected += 1
            if self._could_have_served_a_past_window(name, stamp_ns):
                self._report(SyncEvent(SyncEventKind.LATE, name, stamp_ns,
                                       "frame came after its window"))
        self.drops.dropped(name, stamp_ns, reason)

    def _assemble(self, t_ns: int) -> AnalysisWindow | None:
        config = self.config
        stats = self.stats
        streams = {}
        frames = {}
        missing: list[str] = []
        for name, buffer in self._streams.items():
            stream_window = buffer.window(t_ns, config.window_s)
            if stream_window is not None and stream_window.coverage >= config.min_coverage:
                streams[name] = stream_window
                self.drops.used(name)
            else:
                missing.append(name)
        best = self._nearest_set(t_ns)
        chosen: dict[str, FrameSample] = {}
        if best is not None:
            frame_set = self._sets[best]
            slop = max(self._slop_ns[n] for n in frame_set.frames)
            if abs(frame_set.time_ns - t_ns) <= slop:
                chosen = frame_set.frames
                if not self._set_used[best]:
                    self._set_used[best] = True
                    stats.frames_used += len(chosen)
        for name in self._slop_ns:
            frame = chosen.get(name)
            if frame is None:
                missing.append(name)
                continue
            frames[name] = frame
            self.drops.used(name)
            spread = abs(frame.stamp_ns - t_ns)
            stats.frame_spread_count[name] += 1
            stats.frame_spread_sum_ns[name] += spread
            if spread > stats.frame_spread_max_ns[name]:
                stats.frame_spread_max_ns[name] = spread
        if not streams and not frames:
            stats.windows_skipped_empty += 1
            return None
        if self._required.intersection(missing):
            stats.windows_skipped_required += 1
            return None
        stats.missing_by_input.update(missing)
        stats.windows_emitted += 1
        if missing:
            stats.windows_with_missing += 1
        return AnalysisWindow(
            t_end_ns=t_ns,
            duration_s=config.window_s,
            streams=streams,
            frames=frames,
            missing=tuple(missing),
        )

    def _report(self, event: SyncEvent) -> None:
        self.stats.events_by_kind[event.kind.value] += 1
        if event.source in self._streams and event.kind in _STREAM_DROPS:
            self.drops.dropped(event.source, event.stamp_ns, event.kind.value)
        if self._on_event is not None:
            self._on_event(event)
        else:
            self._pending_events.append(event)
