"""A drop-in for ``message_filters.ApproximateTimeSynchronizer`` on the tight matcher.

    from pm_monitor.sync import ApproximateTimeSynchronizer, Subscriber
    subs = [Subscriber(node, Image, "camera/image_raw"), Subscriber(node, Image, "thermal")]
    sync = ApproximateTimeSynchronizer(subs, queue_size=10, slop=0.05)
    sync.registerCallback(on_pair)          # on_pair(camera_msg, thermal_msg)

Same constructor and methods as message_filters (``fs, queue_size, slop,
allow_headerless=False, reset=False``; ``registerCallback``, ``connectInput``,
``signalMessage``, ``add``); the sets come from
``pm_monitor.core.sync.ApproximateTimeMatcher``: the tightest sets (not the first that fits the
slop), each message used at most once, queues scaled to each input's rate. Differences a user
may notice, each deliberate:

* ``slop`` bounds a set's spread (latest minus earliest stamp), as message_filters does; a
  set is emitted once proven the tightest, or after ``latency_budget`` seconds of stream time
  (default: ``slop``), so it is never held longer than that.
* Callbacks run outside the lock: a slow callback does not block the subscribers feeding
  the synchroniser (message_filters holds its lock while calling them).
* Drops are reported: ``registerDropCallback(fn)`` gets a SyncDrop (input, stamp, reason:
  late, duplicate, overflow, no_partner, reset) for every message discarded; ``stats`` has
  the counters.
* Time going backwards by more than ``max_reorder`` seconds (a bag played in a loop, a
  sim-time reset) clears the queues and starts over with a warning, instead of rejecting
  every later message as late; ``reset=True`` (message_filters' option for ROS time jumps)
  does the same on any jump back.
* ``arrival_stamps=True`` stamps each message by its arrival on the node's clock, for inputs
  whose clocks disagree across machines.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pm_monitor.core.sync.approximate_time import ApproximateTimeMatcher, MatcherStats
from pm_monitor.core.sync.events import SyncEvent

try:  # message_filters is not on PyPI; a ROS installation has it
    from message_filters import Subscriber  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the installation
    Subscriber = None  # type: ignore[assignment,misc]

_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class SyncDrop:
    input_index: int
    stamp_ns: int
    reason: str


class _SimpleFilter:
    """message_filters.SimpleFilter's callback plumbing (registerCallback/signalMessage)."""

    def __init__(self) -> None:
        self.callbacks: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}

    def registerCallback(self, cb: Callable[..., Any], *args: Any) -> int:  # noqa: N802
        conn = len(self.callbacks)
        self.callbacks[conn] = (cb, args)
        return conn

    def signalMessage(self, *msg: Any) -> None:  # noqa: N802
        for cb, args in list(self.callbacks.values()):
            cb(*(msg + args))


if Subscriber is None:

    class Subscriber(_SimpleFilter):  # type: ignore[no-redef]
        """A thin message_filters.Subscriber: subscribes and signals each message."""

        def __init__(self, node: Any, msg_type: Any, topic: str, *args: Any,
                     **kwargs: Any) -> None:
            super().__init__()
            self.node = node
            self.topic = topic
            kwargs.setdefault("qos_profile", 10)
            self.sub = node.create_subscription(msg_type, topic, self.callback, *args,
                                                **kwargs)

        def callback(self, msg: Any) -> None:
            self.signalMessage(msg)

        def getTopic(self) -> str:  # noqa: N802
            return self.topic

        def __getattr__(self, key: str) -> Any:
            # message_filters.Subscriber forwards unknown attributes to the subscription
            return getattr(self.sub, key)


class ApproximateTimeSynchronizer(_SimpleFilter):
    """Sets of one message per input with approximately equal header stamps."""

    def __init__(self, fs: Sequence[Any], queue_size: int, slop: float,
                 allow_headerless: bool = False, reset: bool = False, *,
                 latency_budget: float | None = None, max_reorder: float = 1.0,
                 arrival_stamps: bool = False, clock: Any = None) -> None:
        """fs: the input filters (Subscribers). queue_size: messages per input (scaled by
        rate). slop: widest set, s. allow_headerless: stamp messages without a header by
        arrival. reset: clear on any jump back of the stamps. latency_budget: longest a set
        is held (s; None = slop). max_reorder: a jump back of this much restarts the
        queues. arrival_stamps: ignore headers, stamp by arrival. clock: an rclpy Clock
        for arrival stamps (default: the first input's node clock)."""
        super().__init__()
        self.queue_size = queue_size
        self.slop_ns = round(slop * _NS_PER_S)
        self.allow_headerless = allow_headerless
        self.arrival_stamps = arrival_stamps
        self._clock = clock
        self._budget = self.slop_ns if latency_budget is None else round(
            latency_budget * _NS_PER_S)
        self._max_reorder = round(max_reorder * _NS_PER_S)
        self._reset_on_jump = reset
        self._jump_handle = None
        self.lock = threading.Lock()
        self._drop_callbacks: list[Callable[[SyncDrop], None]] = []
        self._pending_drops: list[SyncDrop] = []
        self._events: list[SyncEvent] = []
        self.input_connections: list[Any] = []
        self._matcher: ApproximateTimeMatcher | None = None
        self.connectInput(fs)

    # ------------------------------------------------------------------ message_filters API

    def connectInput(self, fs: Sequence[Any]) -> None:  # noqa: N802
        """Take these filters as the inputs (the previous ones are disconnected)."""
        for filt, conn in self.input_connections:
            filt.callbacks.pop(conn, None)
        self.input_connections = [(f, f.registerCallback(self.add, None, i))
                                  for i, f in enumerate(fs)]
        if self._clock is None and fs and hasattr(fs[0], "node"):
            self._clock = fs[0].node.get_clock()
        if self._reset_on_jump and self._clock is not None and self._jump_handle is None:
            self._jump_handle = _on_clock_jump_back(self._clock, self._clear)
        with self.lock:
            self._matcher = self._new_matcher(len(fs))

    def add(self, msg: Any, my_queue: Any = None, my_queue_index: int | None = None) -> None:
        """A message of input my_queue_index (message_filters' signature)."""
        if my_queue_index is None:
            raise ValueError("add() needs the input index (connectInput wires it)")
        stamp_ns = self._stamp_ns(msg)
        if stamp_ns is None:
            return
        with self.lock:
            assert self._matcher is not None
            sets = self._matcher.add(my_queue_index, stamp_ns, msg)
            drops, self._pending_drops = self._pending_drops, []
            events, self._events = self._events, []
        # outside the lock: a slow callback does not block the inputs
        for event in events:
            self._warn(str(event))
        for drop in drops:
            for cb in list(self._drop_callbacks):
                cb(drop)
        for matched in sets:
            self.signalMessage(*(item for _, item in matched))

    # ------------------------------------------------------------------ additions

    def registerDropCallback(self, cb: Callable[[SyncDrop], None]) -> None:  # noqa: N802
        """cb(SyncDrop) for every message discarded, with the reason."""
        self._drop_callbacks.append(cb)

    @property
    def stats(self) -> MatcherStats:
        with self.lock:
            assert self._matcher is not None
            return self._matcher.stats

    def expire(self) -> None:
        """Emit a set held past the latency budget at the clock's time (call from a timer
        when inputs may fall silent)."""
        if self._clock is None:
            return
        now = self._clock.now().nanoseconds
        with self.lock:
            assert self._matcher is not None
            sets = self._matcher.expire(now)
        for matched in sets:
            self.signalMessage(*(item for _, item in matched))

    # ------------------------------------------------------------------ internals

    def _clear(self, *_: Any) -> None:
        """The clock jumped back (reset=True): start over."""
        with self.lock:
            assert self._matcher is not None
            self._matcher = self._new_matcher(self._matcher.n_inputs)

    def _new_matcher(self, n_inputs: int) -> ApproximateTimeMatcher:
        return ApproximateTimeMatcher(
            n_inputs, self.queue_size, max_interval_ns=self.slop_ns, age_penalty=0.0,
            latency_budget_ns=self._budget, rate_scaled_queues=True,
            max_reorder_ns=self._max_reorder,
            on_drop=lambda i, stamp, reason: self._pending_drops.append(
                SyncDrop(i, stamp, reason)),
            on_event=self._events.append)

    def _stamp_ns(self, msg: Any) -> int | None:
        header = getattr(msg, "header", None)
        if self.arrival_stamps or header is None:
            if header is None and not (self.allow_headerless or self.arrival_stamps):
                self._warn("message without a header dropped (allow_headerless is False)")
                return None
            if self._clock is None:
                self._warn("no clock to stamp by arrival: message dropped")
                return None
            return int(self._clock.now().nanoseconds)
        stamp = header.stamp
        return int(stamp.sec) * _NS_PER_S + int(stamp.nanosec)

    def _warn(self, text: str) -> None:
        node = None
        for filt, _ in self.input_connections:
            node = getattr(filt, "node", None)
            if node is not None:
                break
        if node is not None:
            node.get_logger().warn(f"ApproximateTimeSynchronizer: {text}",
                                   throttle_duration_sec=2.0)


def _on_clock_jump_back(clock: Any, callback: Callable[..., None]) -> Any:
    """A jump handle calling back when the clock (e.g. sim time) goes backwards."""
    from rclpy.clock import JumpThreshold
    from rclpy.duration import Duration

    threshold = JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1),
                              on_clock_change=True)
    return clock.create_jump_handle(threshold, post_callback=callback)
