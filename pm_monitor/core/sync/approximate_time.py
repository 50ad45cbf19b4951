"""ApproximateTime matching: pure-Python port of the message_filters C++ policy.

The policy (ros2/message_filters, ``sync_policies/approximate_time.h``) emits sets holding
exactly one message per input. With ``age_penalty=0``, queues that never overflow, no
``max_interval_ns`` and in-order stamps per input, every emitted set has the smallest spread
(latest minus earliest stamp) of all sets that

* use on every input a message later than the one used by the previous set (sets never
  cross, each message is used at most once), and
* use on at least one input the message right after the previous set's (sets are contiguous).

A set is emitted as soon as that optimality is proven, never on a timeout. How it works:
the *pivot* is the input whose queue head is the latest when a candidate is formed. Every
candidate must contain the pivot's message, so the search repeatedly moves the earliest head
into a per-input ``past`` area and keeps the tightest set seen. The search ends when the
pivot's own message is the earliest head, when the interval [pivot time, current end] is
already wider than the best candidate, or, when an input runs dry, by a "virtual" look-ahead
that assumes every empty input's next message arrives at the most favourable time allowed by
its inter-message lower bound.

Differences to the C++ code (same results, verified against a literal port in the tests):

* Each input's deque and ``past`` vector are one Python list of stamps plus one of items with
  two cursors: ``past`` is ``[start, head)``, the deque is ``[head, len)``. Moving a message
  to ``past``, recovering it or clearing ``past`` is a cursor move, not a copy. The consumed
  prefix is deleted in blocks, so memory stays bounded.
* When one input stays the earliest head for many steps in a row (a fast input beside slow
  ones, or the re-scan after a queue overflow), the run of steps is resolved with a binary
  search instead of one step per message. This keeps the cost per message independent of
  the queue size where the C++ code re-scans the whole queue.
* Out-of-order and duplicate stamps, which the C++ code only warns about, are handled:
  a duplicate stamp on an input is dropped and counted; a stamp older than or equal to the
  last message already consumed (emitted or discarded) on that input is rejected and counted
  as late; any other late message is inserted in stamp order, and if it lands at or before
  the point the ongoing candidate search has reached, that search restarts (as after an
  overflow), so the optimality guarantee still holds for the messages not yet emitted.

Additions for a live path (each off, or equal to the C++ behaviour, when not asked for):

* Emission bound (``latency_budget_ns``): a candidate held longer than the budget of stream
  time (newest stamp seen minus the candidate's latest stamp) is emitted as it stands, the best
  set proven so far, and counted as ``forced_emissions``. ``expire(now_ns)`` does the same
  against an outside clock (a silent input must not hold the candidate forever).
* Rate-scaled queues (``rate_scaled_queues``): an input k times faster than the slowest one
  may hold k x ``queue_size`` messages (at most 64x), so every queue covers the same span of
  time. With one input 10x faster and queue 10, the C++ rule drops the fast input's messages
  while the slow inputs' next message is still on its way, and a third of the sets are lost.
* Time going backwards (``max_reorder_ns``): a stamp this much older than the newest on its
  input (bag loop, ``ros2 bag play --loop``, sim-time reset) clears every queue, counts a
  reset and reports a TIME_BACKWARDS event, instead of rejecting every later message as late.
* Every discarded message can be reported (``on_drop(input, stamp_ns, reason)``) with one
  of the reasons in DROP_REASONS; the counters are in ``stats``.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import floor
from typing import Any

from pm_monitor.core.sync.events import SyncEvent, SyncEventKind

# One emitted set: (stamp_ns, item) per input, in input order.
MatchedSet = tuple[tuple[int, Any], ...]

_NO_PIVOT = -1
_MINUS_INF = float("-inf")
# Consumed list prefixes are deleted once this long: amortised O(1), bounded memory.
_COMPACT_AT = 256
_UNBOUNDED_NS = 1 << 62
# A queue of a fast input may grow to this many times queue_size (rate_scaled_queues).
_MAX_RATE_FACTOR = 64
# Emission delays kept for the percentiles in MatcherStats.
_DELAY_HISTORY = 2048

# Why a message was discarded (on_drop's reason, the keys of MatcherStats.drops_by_reason):
LATE = "late"  # older than a message already consumed on its input
DUPLICATE = "duplicate"  # the same stamp is already held or consumed
OVERFLOW = "overflow"  # pushed out of a full queue
NO_PARTNER = "no_partner"  # no set could use it (skipped by the search, or too wide a set)
RESET = "reset"  # queued when time went backwards and everything was cleared
DROP_REASONS = (LATE, DUPLICATE, OVERFLOW, NO_PARTNER, RESET)

DropCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class MatcherStats:
    """Counters of an ApproximateTimeMatcher; the per-input tuples are indexed by input.

    dropped: accepted messages discarded without being emitted (skipped by the search,
    pushed out of a full queue, or in a set wider than max_interval_ns). overflow_dropped
    is the part pushed out of a full queue. duplicates / late_rejected were never accepted.
    reordered: late messages accepted and inserted in stamp order.
    """

    sets_emitted: int
    received: tuple[int, ...]
    dropped: tuple[int, ...]
    overflow_dropped: tuple[int, ...]
    duplicates: tuple[int, ...]
    late_rejected: tuple[int, ...]
    reordered: tuple[int, ...]
    mean_spread_ns: float
    max_spread_ns: int
    # Stream time from a set's latest stamp to the newest stamp seen when it was emitted.
    mean_emission_delay_ns: float = 0.0
    p99_emission_delay_ns: float = 0.0
    max_emission_delay_ns: int = 0
    forced_emissions: int = 0  # sets emitted by the latency budget, before proven optimal
    resets: int = 0  # time went backwards
    reset_dropped: tuple[int, ...] = ()

    @property
    def no_partner(self) -> tuple[int, ...]:
        """Accepted messages discarded because no set could use them."""
        return tuple(d - o for d, o in zip(self.dropped, self.overflow_dropped, strict=True))

    def drops_by_reason(self, input_index: int) -> dict[str, int]:
        i = input_index
        return {LATE: self.late_rejected[i], DUPLICATE: self.duplicates[i],
                OVERFLOW: self.overflow_dropped[i], NO_PARTNER: self.no_partner[i],
                RESET: self.reset_dropped[i] if self.reset_dropped else 0}


class ApproximateTimeMatcher:
    """Groups messages of ``n_inputs`` inputs into sets of approximately equal stamps.

    ``add()`` returns the sets that the arrival completed (often none, sometimes several),
    each a tuple of ``(stamp_ns, item)`` per input. Not thread-safe: call from one thread.
    """

    def __init__(
        self,
        n_inputs: int,
        queue_size: int = 100,
        max_interval_ns: int | None = None,
        age_penalty: float = 0.1,
        inter_message_lower_bounds_ns: Sequence[int] | None = None,
        latency_budget_ns: int | None = None,
        rate_scaled_queues: bool = False,
        max_reorder_ns: int | None = None,
        on_drop: DropCallback | None = None,
        on_event: Callable[[SyncEvent], None] | None = None,
    ) -> None:
        """The first five parameters are message_filters'. latency_budget_ns: emit a held
        candidate after this much stream time (None: only once proven optimal). max_reorder_ns:
        a stamp this much older than its input's newest means time went backwards (None: such
        messages are rejected as late, as in C++). on_drop / on_event: called for each discarded
        message / each reset (from inside add(): keep them short)."""
        if n_inputs < 2:
            raise ValueError("ApproximateTimeMatcher needs at least 2 inputs")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1 (2 or more recommended)")
        if age_penalty < 0:
            raise ValueError("age_penalty must be >= 0")
        if max_interval_ns is not None and max_interval_ns < 0:
            raise ValueError("max_interval_ns must be >= 0")
        if latency_budget_ns is not None and latency_budget_ns < 0:
            raise ValueError("latency_budget_ns must be >= 0")
        if max_reorder_ns is not None and max_reorder_ns <= 0:
            raise ValueError("max_reorder_ns must be > 0")
        bounds = list(inter_message_lower_bounds_ns or [0] * n_inputs)
        if len(bounds) != n_inputs or min(bounds) < 0:
            raise ValueError("need one non-negative inter-message lower bound per input")
        self._n = n_inputs
        self._queue_size = queue_size
        self._max_interval = _UNBOUNDED_NS if max_interval_ns is None else max_interval_ns
        self._age_factor = 1.0 + age_penalty
        self._lower_bounds = bounds
        self._budget = latency_budget_ns
        self._rate_scaled = rate_scaled_queues
        self._max_reorder = max_reorder_ns
        self.on_drop = on_drop
        self.on_event = on_event
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> None:
        """Forget every queued message, the ongoing search and the statistics."""
        n = self._n
        self._clear_queues()
        self._has_dropped = [False] * n
        self._any_dropped = False
        self._sets_emitted = 0
        self._spread_sum = 0
        self._spread_max = 0
        self._received = [0] * n
        self._dropped = [0] * n
        self._overflow = [0] * n
        self._duplicates = [0] * n
        self._late = [0] * n
        self._reordered = [0] * n
        self._reset_dropped = [0] * n
        self._resets = 0
        self._forced = 0
        self._delay_sum = 0
        self._delay_max = 0
        self._delays: deque[int] = deque(maxlen=_DELAY_HISTORY)

    def _clear_queues(self) -> None:
        n = self._n
        self._period: list[float] = [0.0] * n  # running mean gap between stamps, per input
        self._newest = -_UNBOUNDED_NS  # newest stamp on any input
        self._stamps: list[list[int]] = [[] for _ in range(n)]
        self._items: list[list[Any]] = [[] for _ in range(n)]
        self._start = [0] * n  # first message not yet consumed (the candidate's, if any)
        self._head = [0] * n  # front of the deque; [start, head) is the `past` area
        self._floor: list[int | None] = [None] * n  # stamp of the last compacted message
        self._last: list[float | int] = [float("-inf")] * n  # newest stamp accepted
        self._non_empty = 0  # number of inputs whose deque is non-empty
        self._pivot = _NO_PIVOT
        self._pivot_time = 0
        self._cand_start = 0
        self._cand_end = 0
        self._has_dropped = [False] * n
        self._any_dropped = False

    @property
    def n_inputs(self) -> int:
        return self._n

    @property
    def forced_emissions(self) -> int:
        """Sets emitted by the latency budget (cheaper than stats)."""
        return self._forced

    @property
    def stats(self) -> MatcherStats:
        """A snapshot of the counters."""
        emitted = self._sets_emitted
        return MatcherStats(
            sets_emitted=emitted,
            received=tuple(self._received),
            dropped=tuple(self._dropped),
            overflow_dropped=tuple(self._overflow),
            duplicates=tuple(self._duplicates),
            late_rejected=tuple(self._late),
            reordered=tuple(self._reordered),
            mean_spread_ns=self._spread_sum / emitted if emitted else 0.0,
            max_spread_ns=self._spread_max,
            mean_emission_delay_ns=self._delay_sum / emitted if emitted else 0.0,
            p99_emission_delay_ns=_percentile(self._delays, 0.99),
            max_emission_delay_ns=self._delay_max,
            forced_emissions=self._forced,
            resets=self._resets,
            reset_dropped=tuple(self._reset_dropped),
        )

    def queue_lengths(self) -> tuple[int, ...]:
        """Messages held per input (deque plus past area), each <= queue_size after add()."""
        return tuple(len(s) - b for s, b in zip(self._stamps, self._start, strict=True))

    def add(self, input_index: int, stamp_ns: int, item: Any = None) -> list[MatchedSet]:
        """Add one message; return the sets this arrival completed, oldest first."""
        i = input_index
        stamps = self._stamps[i]
        emitted: list[MatchedSet] = []
        self._received[i] += 1
        last = self._last[i]
        if stamp_ns > last:
            # Hot path: in-order arrival.
            if last != _MINUS_INF:
                period = self._period[i]
                gap = stamp_ns - last
                self._period[i] = period + (gap - period) * 0.125 if period else float(gap)
            self._last[i] = stamp_ns
            if stamp_ns > self._newest:
                self._newest = stamp_ns
            stamps.append(stamp_ns)
            self._items[i].append(item)
            if len(stamps) - self._head[i] == 1:
                self._non_empty += 1
                if self._non_empty == self._n:
                    self._process(emitted)
        elif self._max_reorder is not None and stamp_ns < last - self._max_reorder:
            self._time_went_back(i, stamp_ns)
            self._received[i] -= 1  # counted again by the call below
            return self.add(i, stamp_ns, item)
        elif not self._insert_out_of_order(i, stamp_ns, item, emitted):
            return emitted
        if len(stamps) - self._start[i] > self._queue_size and self._overflows(i):
            self._drop_oldest(i, emitted)
        if self._start[i] >= _COMPACT_AT:
            self._compact(i)
        if self._budget is not None and self._pivot != _NO_PIVOT:
            self._expire(self._newest, emitted)
        return emitted

    def expire(self, now_ns: int) -> list[MatchedSet]:
        """Emit a candidate held for longer than the latency budget at stream time now_ns
        (for a caller whose clock moves on while these inputs are silent)."""
        emitted: list[MatchedSet] = []
        if self._budget is not None and self._pivot != _NO_PIVOT:
            self._expire(now_ns, emitted)
        return emitted

    def oldest_queued_ns(self) -> int | None:
        """Stamp of the oldest message held and not yet emitted, None when none is."""
        oldest = None
        for stamps, begin in zip(self._stamps, self._start, strict=True):
            if len(stamps) > begin and (oldest is None or stamps[begin] < oldest):
                oldest = stamps[begin]
        return oldest

    def queued(self) -> list[tuple[int, int, Any]]:
        """(input, stamp_ns, item) of every message held and not yet emitted, by stamp."""
        out = [(stamps[k], i, self._items[i][k])
               for i, stamps in enumerate(self._stamps)
               for k in range(self._start[i], len(stamps))]
        out.sort(key=lambda entry: (entry[0], entry[1]))
        return [(i, stamp, item) for stamp, i, item in out]

    # ------------------------------------------------------------------ live-path additions

    def _expire(self, now_ns: int, emitted: list[MatchedSet]) -> None:
        assert self._budget is not None
        while self._pivot != _NO_PIVOT and now_ns - self._cand_end > self._budget:
            self._forced += 1
            self._rewind()
            self._publish(emitted, now_ns)
            if self._non_empty == self._n:
                self._process(emitted)

    def _overflows(self, i: int) -> bool:
        """Whether input i holds more than its share (queue_size, scaled by its rate)."""
        if not self._rate_scaled:
            return True
        held = len(self._stamps[i]) - self._start[i]
        period = self._period[i]
        slowest = max(self._period)
        if period <= 0.0 or slowest <= period:
            return True
        factor = min(_MAX_RATE_FACTOR, slowest / period)
        return held > self._queue_size * factor

    def _time_went_back(self, i: int, stamp_ns: int) -> None:
        back_ns = self._last[i] - stamp_ns
        for j in range(self._n):
            begin, end = self._start[j], len(self._stamps[j])
            self._reset_dropped[j] += end - begin
            self._report_drops(j, begin, end, RESET)
        self._resets += 1
        self._clear_queues()
        if self.on_event is not None:
            self.on_event(SyncEvent(
                SyncEventKind.TIME_BACKWARDS, f"input {i}", stamp_ns,
                f"stamp {back_ns / 1e9:.3f} s older than the newest: matcher queues cleared"))

    def _report_drops(self, i: int, begin: int, end: int, reason: str) -> None:
        if self.on_drop is not None:
            stamps = self._stamps[i]
            for k in range(begin, end):
                self.on_drop(i, stamps[k], reason)

    # ------------------------------------------------------------------ queue upkeep

    def _insert_out_of_order(
        self, i: int, stamp_ns: int, item: Any, emitted: list[MatchedSet]
    ) -> bool:
        """Place a message not newer than the newest on its input; False if rejected."""
        stamps = self._stamps[i]
        start = self._start[i]
        floor_ns = stamps[start - 1] if start > 0 else self._floor[i]
        if floor_ns is not None and stamp_ns <= floor_ns:
            if stamp_ns == floor_ns:
                self._duplicates[i] += 1
                reason = DUPLICATE
            else:
                self._late[i] += 1
                reason = LATE
            if self.on_drop is not None:
                self.on_drop(i, stamp_ns, reason)
            return False
        pos = bisect_left(stamps, stamp_ns, start)
        if pos < len(stamps) and stamps[pos] == stamp_ns:
            self._duplicates[i] += 1
            if self.on_drop is not None:
                self.on_drop(i, stamp_ns, DUPLICATE)
            return False
        stamps.insert(pos, stamp_ns)
        self._items[i].insert(pos, item)
        self._reordered[i] += 1
        if self._pivot != _NO_PIVOT and pos <= self._head[i]:
            # The search already went past this stamp without seeing the message: the
            # candidate may no longer be the best, so search again from the queue fronts.
            self._rewind()
            self._pivot = _NO_PIVOT
        elif len(stamps) - self._head[i] == 1:
            self._non_empty += 1
        if self._non_empty == self._n:
            self._process(emitted)
        return True

    def _rewind(self) -> None:
        """Move every past message back to its deque (C++ `recover`)."""
        head = self._head
        non_empty = 0
        for j, begin in enumerate(self._start):
            head[j] = begin
            if len(self._stamps[j]) > begin:
                non_empty += 1
        self._non_empty = non_empty

    def _drop_oldest(self, i: int, emitted: list[MatchedSet]) -> None:
        """Queue i overflowed: cancel the search and drop its oldest message (as in C++)."""
        self._rewind()
        self._report_drops(i, self._start[i], self._start[i] + 1, OVERFLOW)
        self._start[i] += 1
        self._head[i] = self._start[i]
        self._dropped[i] += 1
        self._overflow[i] += 1
        self._has_dropped[i] = True
        self._any_dropped = True
        if self._pivot != _NO_PIVOT:
            self._pivot = _NO_PIVOT
            self._process(emitted)

    def _compact(self, i: int) -> None:
        begin = self._start[i]
        self._floor[i] = self._stamps[i][begin - 1]
        del self._stamps[i][:begin]
        del self._items[i][:begin]
        self._head[i] -= begin
        self._start[i] = 0

    # ------------------------------------------------------------------ the search

    def _process(self, emitted: list[MatchedSet]) -> None:
        """Search while every deque is non-empty (C++ `process`)."""
        n = self._n
        stamps = self._stamps
        head = self._head
        start = self._start
        age = self._age_factor
        max_interval = self._max_interval
        while self._non_empty == n:
            # Earliest head (first index on ties) and latest head (last index on ties).
            end_t = start_t = stamps[0][head[0]]
            end_i = start_i = 0
            for j in range(1, n):
                t = stamps[j][head[j]]
                if t >= end_t:
                    end_t = t
                    end_i = j
                if t < start_t:
                    start_t = t
                    start_i = j
            if self._any_dropped:
                # No dropped message could have beaten the current heads, so every input but
                # the end one may serve as pivot again.
                keep = self._has_dropped[end_i]
                self._has_dropped = [False] * n
                self._has_dropped[end_i] = keep
                self._any_dropped = keep
            s_stamps = stamps[start_i]
            h = head[start_i]
            # Length of the run of messages on start_i that stay the earliest head with the
            # same end: those steps are resolved at once (see the module docstring).
            run_end = h + 1
            if h + 1 < len(s_stamps) and s_stamps[h + 1] < end_t:
                run_end = self._run_end(start_i, end_t)

            if self._pivot == _NO_PIVOT:
                if end_t - start_t > max_interval or self._has_dropped[end_i]:
                    # Not a valid candidate: discard the earliest message and look again.
                    if self._has_dropped[end_i]:
                        last = run_end
                    else:
                        last = max(h + 1, bisect_left(s_stamps, end_t - max_interval, h, run_end))
                    self._dropped[start_i] += last - h
                    self._report_drops(start_i, h, last, NO_PARTNER)
                    head[start_i] = start[start_i] = last
                    if last == len(s_stamps):
                        self._non_empty -= 1
                    continue
                self._cand_start = start_t
                self._cand_end = end_t
                self._pivot = end_i
                self._pivot_time = end_t
                if run_end > h + 1:
                    # Later messages of the run only tighten the candidate (same end, later
                    # start): jump to the last one.
                    self._cand_start = s_stamps[run_end - 1]
                    self._make_candidate_at(start_i, run_end - 1)
            else:
                slack = (end_t - self._cand_end) * age
                if (
                    run_end > h + 1
                    and start_i != self._pivot
                    and slack < self._pivot_time - self._cand_start
                ):
                    # Messages of the run whose stamp exceeds cand_start + slack beat the
                    # candidate; once one does, every later one beats its predecessor.
                    first_better = bisect_left(
                        s_stamps, self._cand_start + floor(slack) + 1, h, run_end
                    )
                    if first_better < run_end:
                        self._cand_start = s_stamps[run_end - 1]
                        self._cand_end = end_t
                        self._make_candidate_at(start_i, run_end - 1)
                    else:
                        head[start_i] = run_end - 1
                    start_t = s_stamps[run_end - 1]
                elif slack < start_t - self._cand_start:
                    self._cand_start = start_t
                    self._cand_end = end_t
                    self._make_candidate_at(start_i, h)
            # Move the earliest head into the past area.
            head[start_i] += 1
            if head[start_i] == len(s_stamps):
                self._non_empty -= 1

            pivot_time = self._pivot_time
            if start_i == self._pivot:
                # Every candidate containing the pivot's message has been examined.
                self._publish(emitted)
            elif (end_t - self._cand_end) * age >= pivot_time - self._cand_start:
                # Any later candidate spans [pivot_time, end_t], already too wide.
                self._publish(emitted)
            elif self._non_empty < n:
                self._virtual_search(emitted)

    def _run_end(self, i: int, end_t: int) -> int:
        """End of the run of queued messages on input i earlier than every other head."""
        stamps = self._stamps
        head = self._head
        others_min = end_t
        for j in range(self._n):
            if j != i:
                t = stamps[j][head[j]]
                if t < others_min:
                    others_min = t
        return bisect_left(stamps[i], others_min, head[i] + 1)

    def _make_candidate_at(self, i: int, position: int) -> None:
        """The heads, with input i's head at `position`, become the candidate.

        Everything in the past areas (and on input i before `position`) is discarded, since a
        better candidate than any of them has been found (C++ `makeCandidate`).
        """
        head = self._head
        start = self._start
        dropped = self._dropped
        head[i] = position
        for j in range(self._n):
            if head[j] != start[j]:
                dropped[j] += head[j] - start[j]
                self._report_drops(j, start[j], head[j], NO_PARTNER)
                start[j] = head[j]

    def _virtual_search(self, emitted: list[MatchedSet]) -> None:
        """Try to prove the candidate optimal assuming the best possible future messages."""
        n = self._n
        stamps = self._stamps
        head = self._head
        bounds = self._lower_bounds
        age = self._age_factor
        pivot_time = self._pivot_time
        cand_start = self._cand_start
        cand_end = self._cand_end
        saved_head = head[:]
        saved_non_empty = self._non_empty
        while True:
            v_end = v_start = None
            v_start_i = 0
            for j in range(n):
                s = stamps[j]
                h = head[j]
                if h < len(s):
                    t = s[h]
                else:
                    # Earliest the next message can come; never earlier than the pivot (an
                    # earlier one could only widen the set), so this is an optimistic bound.
                    t = s[h - 1] + bounds[j]
                    if t < pivot_time:
                        t = pivot_time
                if v_end is None:
                    v_end = v_start = t
                else:
                    if t > v_end:
                        v_end = t
                    if t < v_start:
                        v_start = t
                        v_start_i = j
            slack = (v_end - cand_end) * age
            if slack >= pivot_time - cand_start:
                self._publish(emitted)  # proven optimal; also undoes the virtual moves
                return
            if slack < v_start - cand_start:
                # An optimistic future candidate beats ours: cannot prove yet, undo.
                head[:] = saved_head
                self._non_empty = saved_non_empty
                return
            head[v_start_i] += 1
            if head[v_start_i] == len(stamps[v_start_i]):
                self._non_empty -= 1

    def _publish(self, emitted: list[MatchedSet], now_ns: int | None = None) -> None:
        """Emit the candidate and consume its messages; past messages return to the deques."""
        stamps = self._stamps
        items = self._items
        start = self._start
        head = self._head
        out = []
        non_empty = 0
        for j in range(self._n):
            b = start[j]
            out.append((stamps[j][b], items[j][b]))
            b += 1
            start[j] = head[j] = b
            if len(stamps[j]) > b:
                non_empty += 1
        self._non_empty = non_empty
        self._pivot = _NO_PIVOT
        spread = self._cand_end - self._cand_start
        self._sets_emitted += 1
        self._spread_sum += spread
        if spread > self._spread_max:
            self._spread_max = spread
        delay = (self._newest if now_ns is None else max(now_ns, self._newest)) - self._cand_end
        self._delay_sum += delay
        if delay > self._delay_max:
            self._delay_max = delay
        self._delays.append(delay)
        emitted.append(tuple(out))


def _percentile(values: deque[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])
