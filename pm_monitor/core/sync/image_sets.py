"""Frames of the live image inputs grouped into sets from one moment (ApproximateTimeMatcher).

The window assembler hands every frame here; FrameSets come out in time order, each holding
one frame per live image input (camera, thermal, any further image input a model set
declares), chosen by the ApproximateTime policy: the tightest sets, each frame used at most
once. An input that went silent past its timeout is taken out of the matching (``set_live``)
and the frames still queued are matched again among the others, so a dead thermal camera
never holds the camera back; with one live input each frame is a set of its own.

Every frame that never reaches a set is reported to ``on_drop(name, stamp_ns, reason)``
with the matcher's reason (late, duplicate, overflow, no_partner, reset).
"""
from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pm_monitor.core.sync.approximate_time import (
    DUPLICATE,
    LATE,
    NO_PARTNER,
    RESET,
    ApproximateTimeMatcher,
    MatchedSet,
)
from pm_monitor.core.sync.window import FrameSample

_DELAY_HISTORY = 2048


@dataclass(frozen=True)
class FrameSet:
    """One frame per input, from one moment; time_ns is the middle of the stamps' span."""

    frames: dict[str, FrameSample]
    time_ns: int
    spread_ns: int


@dataclass
class ImageSetStats:
    sets: int = 0
    spread_sum_ns: int = 0
    spread_max_ns: int = 0
    forced: int = 0  # sets emitted by the latency budget before proven optimal
    drops: Counter[tuple[str, str]] = field(default_factory=Counter)  # (input, reason)
    # stream time from a set's latest frame to the newest frame seen when it came out
    delays_ns: deque[int] = field(default_factory=lambda: deque(maxlen=_DELAY_HISTORY))
    delay_sum_ns: int = 0

    @property
    def mean_spread_ns(self) -> float:
        return self.spread_sum_ns / self.sets if self.sets else 0.0

    @property
    def mean_delay_ns(self) -> float:
        return self.delay_sum_ns / self.sets if self.sets else 0.0

    def delay_percentile_ns(self, q: float) -> float:
        if not self.delays_ns:
            return 0.0
        ordered = sorted(self.delays_ns)
        return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


class ImageSetMatcher:
    """Groups frames of a changing set of live image inputs into FrameSets."""

    def __init__(
        self,
        names: Sequence[str],
        queue_size: int,
        max_interval_ns: int,
        latency_budget_ns: int,
        on_drop: Callable[[str, int, str], None] | None = None,
    ) -> None:
        self.names = tuple(names)
        self.stats = ImageSetStats()
        self._queue_size = queue_size
        self._max_interval_ns = max_interval_ns
        self._budget_ns = latency_budget_ns
        self._on_drop = on_drop
        self._live: tuple[str, ...] = self.names
        self._matcher: ApproximateTimeMatcher | None = None
        self._forced_before = 0  # forced emissions of matchers already replaced
        self._newest_ns: int | None = None
        self._newest_by_input: dict[str, int] = {}
        self._build([])

    @property
    def live(self) -> tuple[str, ...]:
        return self._live

    def add(self, name: str, frame: FrameSample) -> list[FrameSet]:
        """Match one frame of input `name`; a frame of an input not live is dropped."""
        stamp = frame.stamp_ns
        if self._newest_ns is None or stamp > self._newest_ns:
            self._newest_ns = stamp
        previous = self._newest_by_input.get(name)
        if previous is None or stamp > previous:
            self._newest_by_input[name] = stamp
        if name not in self._live:
            self._dropped(name, stamp, NO_PARTNER)
            return []
        # one live input: every frame in stamp order is a set (the matcher checks the rest)
        if self._matcher is None and previous is not None and stamp <= previous:
            self._dropped(name, stamp, DUPLICATE if stamp == previous else LATE)
            return []
        return self._match(name, frame)

    def _match(self, name: str, frame: FrameSample) -> list[FrameSet]:
        if self._matcher is None:
            return [self._emitted({name: frame})]
        return self._sets(self._matcher.add(self._live.index(name), frame.stamp_ns, frame))

    def expire(self, now_ns: int) -> list[FrameSet]:
        """Emit a set held past the latency budget at stream time now_ns."""
        if self._matcher is None:
            return []
        return self._sets(self._matcher.expire(now_ns))

    def set_live(self, names: Sequence[str]) -> list[FrameSet]:
        """Match only `names` from now on; frames queued on them are matched again."""
        live = tuple(n for n in self.names if n in names)
        if live == self._live:
            return []
        return self._rebuild(live)

    def _rebuild(self, live: tuple[str, ...]) -> list[FrameSet]:
        queued = self._matcher.queued() if self._matcher is not None else []
        old = self._live
        self._live = live
        return self._build([(old[i], stamp, frame) for i, stamp, frame in queued])

    def set_max_interval(self, max_interval_ns: int) -> list[FrameSet]:
        """Widest set allowed from now on; frames queued are matched again."""
        self._max_interval_ns = max_interval_ns
        return self._rebuild(self._live)

    def earliest_pending_ns(self) -> int | None:
        """No future set can hold a frame stamped before this: the oldest frame queued, or
        the next frame of a live input (frames come in stamp order per input; a late one is
        not matched). None while a live input has sent nothing."""
        newest = [self._newest_by_input.get(name) for name in self._live]
        if any(stamp is None for stamp in newest):
            return None
        earliest = min(stamp + 1 for stamp in newest if stamp is not None)
        if self._matcher is not None:
            oldest = self._matcher.oldest_queued_ns()
            if oldest is not None:
                earliest = min(earliest, oldest)
        return earliest

    def pending_frames(self, name: str) -> list[FrameSample]:
        """Frames of input `name` waiting in the matcher for their set, oldest first."""
        if self._matcher is None or name not in self._live:
            return []
        index = self._live.index(name)
        return [frame for i, _, frame in self._matcher.queued() if i == index]

    def queued_frames(self) -> int:
        return 0 if self._matcher is None else sum(self._matcher.queue_lengths())

    def reset(self) -> None:
        """Forget every queued frame (counted as dropped by a reset); statistics are kept."""
        if self._matcher is not None:
            for i, stamp, _ in self._matcher.queued():
                self._dropped(self._live[i], stamp, RESET)
        self._newest_ns = None
        self._newest_by_input.clear()
        self._live = self.names
        self._build([])

    # ------------------------------------------------------------------ internals

    def _build(self, refeed: list[tuple[str, int, FrameSample]]) -> list[FrameSet]:
        if self._matcher is not None:
            self._forced_before += self._matcher.forced_emissions
        live = self._live
        if len(live) >= 2:
            self._matcher = ApproximateTimeMatcher(
                len(live), self._queue_size, max_interval_ns=self._max_interval_ns,
                age_penalty=0.0, latency_budget_ns=self._budget_ns, rate_scaled_queues=True,
                on_drop=lambda i, stamp, reason: self._dropped(live[i], stamp, reason))
        else:
            self._matcher = None
        out: list[FrameSet] = []
        for name, _, frame in refeed:  # already accepted once: matched without checks
            if name in live:
                out += self._match(name, frame)
            else:
                self._dropped(name, frame.stamp_ns, NO_PARTNER)
        return out

    def _dropped(self, name: str, stamp_ns: int, reason: str) -> None:
        self.stats.drops[(name, reason)] += 1
        if self._on_drop is not None:
            self._on_drop(name, stamp_ns, reason)

    def _sets(self, matched: list[MatchedSet]) -> list[FrameSet]:
        if not matched:
            return []
        if self._matcher is not None:
            self.stats.forced = self._forced_before + self._matcher.forced_emissions
        return [self._emitted({name: frame for name, (_, frame) in zip(self._live, m,
                                                                        strict=True)})
                for m in matched]

    def _emitted(self, frames: dict[str, FrameSample]) -> FrameSet:
        stamps = [f.stamp_ns for f in frames.values()]
        low, high = min(stamps), max(stamps)
        stats = self.stats
        stats.sets += 1
        spread = high - low
        stats.spread_sum_ns += spread
        stats.spread_max_ns = max(stats.spread_max_ns, spread)
        delay = max(0, (self._newest_ns or high) - high)
        stats.delays_ns.append(delay)
        stats.delay_sum_ns += delay
        return FrameSet(frames, (low + high) // 2, spread)
