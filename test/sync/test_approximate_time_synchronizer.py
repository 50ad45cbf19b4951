"""The message_filters drop-in: constructor, registerCallback / connectInput, sets over real
topics in one process, callbacks outside the lock, drops reported, loops restart."""
from __future__ import annotations

import time

from geometry_msgs.msg import PointStamped
from std_msgs.msg import String

from pm_monitor.sync import ApproximateTimeSynchronizer, Subscriber, SyncDrop

MS = 1_000_000


def stamped(stamp_ns: int, x: float = 0.0) -> PointStamped:
    msg = PointStamped()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.point.x = x
    return msg


def ns(msg: PointStamped) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def spin_until(executor, condition, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        executor.spin_once(timeout_sec=0.05)


def test_pairs_messages_published_on_two_topics(node, executor):
    a = Subscriber(node, PointStamped, "sync_a")
    b = Subscriber(node, PointStamped, "sync_b")
    sync = ApproximateTimeSynchronizer([a, b], 10, 0.02)  # message_filters' positional form
    pairs = []
    sync.registerCallback(lambda ma, mb: pairs.append((ns(ma), ns(mb))))
    pub_a = node.create_publisher(PointStamped, "sync_a", 50)
    pub_b = node.create_publisher(PointStamped, "sync_b", 50)
    spin_until(executor, lambda: pub_a.get_subscription_count() and pub_b.get_subscription_count())
    base = 1_700_000_000 * 1_000_000_000
    for k in range(10):
        pub_a.publish(stamped(base + k * 100 * MS))
        pub_b.publish(stamped(base + k * 100 * MS + 3 * MS))
    spin_until(executor, lambda: len(pairs) >= 9)
    assert len(pairs) >= 9
    assert all(b_ns - a_ns == 3 * MS for a_ns, b_ns in pairs)
    assert [a_ns for a_ns, _ in pairs] == sorted(a_ns for a_ns, _ in pairs)


class Source:
    """A filter fed by hand (what connectInput takes: registerCallback + signalMessage)."""

    def __init__(self) -> None:
        self.callbacks = {}

    def registerCallback(self, cb, *args):  # noqa: N802
        self.callbacks[len(self.callbacks)] = (cb, args)
        return len(self.callbacks) - 1

    def signalMessage(self, msg):  # noqa: N802
        for cb, args in list(self.callbacks.values()):
            cb(msg, *args)


def test_connect_input_rewires_the_inputs():
    old, new_a, new_b = Source(), Source(), Source()
    sync = ApproximateTimeSynchronizer([old, Source()], 10, 0.05)
    got = []
    sync.registerCallback(lambda *msgs: got.append([ns(m) for m in msgs]))
    sync.connectInput([new_a, new_b])
    assert old.callbacks == {}
    new_a.signalMessage(stamped(1_000 * MS))
    new_b.signalMessage(stamped(1_001 * MS))
    new_a.signalMessage(stamped(1_100 * MS))
    new_b.signalMessage(stamped(1_101 * MS))
    assert got[0] == [1_000 * MS, 1_001 * MS]


def test_callbacks_run_outside_the_lock():
    a, b = Source(), Source()
    sync = ApproximateTimeSynchronizer([a, b], 10, 0.05, latency_budget=0.0)
    seen = []

    def slow_model(ma, mb):
        seen.append(sync.lock.locked())
        # feeding the synchroniser from its own callback would deadlock under the lock
        if len(seen) == 1:
            a.signalMessage(stamped(ns(ma) + 100 * MS))

    sync.registerCallback(slow_model)
    a.signalMessage(stamped(1_000 * MS))
    b.signalMessage(stamped(1_000 * MS))
    b.signalMessage(stamped(1_100 * MS))
    assert seen == [False, False]


def test_drops_are_reported_with_their_reason():
    a, b = Source(), Source()
    sync = ApproximateTimeSynchronizer([a, b], 10, 0.05)
    drops: list[SyncDrop] = []
    sync.registerDropCallback(drops.append)
    sync.registerCallback(lambda *_: None)
    a.signalMessage(stamped(1_000 * MS))
    b.signalMessage(stamped(1_000 * MS))
    a.signalMessage(stamped(1_000 * MS))  # duplicate of a consumed stamp
    a.signalMessage(stamped(990 * MS))  # older than a consumed one
    a.signalMessage(stamped(1_200 * MS))
    a.signalMessage(stamped(1_300 * MS))
    b.signalMessage(stamped(1_301 * MS))  # 1_200 had no partner
    reasons = {(d.input_index, d.stamp_ns, d.reason) for d in drops}
    assert (0, 1_000 * MS, "duplicate") in reasons
    assert (0, 990 * MS, "late") in reasons
    assert (0, 1_200 * MS, "no_partner") in reasons
    assert sync.stats.drops_by_reason(0)["late"] == 1


def test_a_bag_played_in_a_loop_gets_sets_on_every_pass(node):
    a = Subscriber(node, PointStamped, "loop_a")
    b = Subscriber(node, PointStamped, "loop_b")
    sync = ApproximateTimeSynchronizer([a, b], 10, 0.02)
    count = []
    sync.registerCallback(lambda *_: count.append(1))
    for _ in range(2):
        for k in range(20):
            a.signalMessage(stamped(5_000 * MS + k * 100 * MS))
            b.signalMessage(stamped(5_000 * MS + k * 100 * MS + MS))
    assert len(count) >= 2 * 19 - 1
    assert sync.stats.resets == 1 and sum(sync.stats.late_rejected) == 0


def test_headerless_messages_need_allow_headerless(node):
    a = Subscriber(node, String, "plain_a")
    b = Subscriber(node, String, "plain_b")
    strict = ApproximateTimeSynchronizer([a, b], 10, 0.5)
    got = []
    strict.registerCallback(lambda *m: got.append(m))
    a.signalMessage(String(data="x"))
    b.signalMessage(String(data="y"))
    assert got == [] and strict.stats.received == (0, 0)
    c = Subscriber(node, String, "plain_c")
    d = Subscriber(node, String, "plain_d")
    lenient = ApproximateTimeSynchronizer([c, d], 10, 0.5, allow_headerless=True,
                                          latency_budget=0.0)
    lenient.registerCallback(lambda *m: got.append([x.data for x in m]))
    c.signalMessage(String(data="x"))
    d.signalMessage(String(data="y"))
    time.sleep(0.01)
    c.signalMessage(String(data="z"))  # moves stream time past the budget
    assert got and got[0] == ["x", "y"]


def test_subscriber_is_message_filters_or_ours(node):
    sub = Subscriber(node, PointStamped, "which")
    assert sub.getTopic().endswith("which")
    assert callable(sub.registerCallback)
