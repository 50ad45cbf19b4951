"""AsyncExplainer: never blocks the caller, bounded, counted, results carry alert id and time."""
import threading
import time

from pm_monitor.core.explain.async_runner import AsyncExplainer


def test_submit_returns_at_once_and_results_arrive_by_callback():
    release = threading.Event()
    done = []

    def slow_square(x: int) -> int:
        release.wait(5.0)
        return x * x

    runner = AsyncExplainer(slow_square, done.append, max_pending=4)
    start = time.perf_counter()
    assert runner.submit("rig_1-0001", 3)
    assert time.perf_counter() - start < 0.05  # the work (blocked) did not delay submit
    release.set()
    assert runner.wait_idle(5.0)
    runner.close()
    (result,) = done
    assert result.ok and result.alert_id == "rig_1-0001" and result.result == 9
    assert result.computation_s >= 0.0 and result.waited_s >= 0.0
    stats = runner.stats()
    assert (stats.submitted, stats.completed, stats.dropped) == (1, 1, 0)


def test_overflow_is_counted_and_reported_never_silent():
    release = threading.Event()
    dropped = []
    runner = AsyncExplainer(lambda x: release.wait(5.0), lambda _: None, max_pending=2,
                            on_dropped=lambda alert_id, n: dropped.append((alert_id, n)))
    accepted = [runner.submit(f"a{i}", i) for i in range(6)]
    # one is being worked on (maybe), two wait in the queue: at least three are refused
    assert accepted[:2] == [True, True]
    assert accepted.count(False) >= 3
    assert [n for _, n in dropped] == list(range(1, accepted.count(False) + 1))
    assert runner.stats().dropped == accepted.count(False)
    release.set()
    assert runner.wait_idle(5.0)
    runner.close()
    assert not runner.submit("late", 0)  # closed: refused and counted too
    assert runner.stats().dropped == accepted.count(False) + 1


def test_a_failing_explanation_is_delivered_as_an_error_and_the_worker_goes_on():
    done = []

    def fragile(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    runner = AsyncExplainer(fragile, done.append)
    runner.submit("bad", -1)
    runner.submit("good", 2)
    assert runner.wait_idle(5.0)
    runner.close()
    assert [d.alert_id for d in done] == ["bad", "good"]
    assert not done[0].ok and done[0].error == "ValueError: negative" and done[0].result is None
    assert done[1].ok and done[1].result == 2
    assert runner.stats().failed == 1 and runner.stats().completed == 1


def test_close_without_draining_discards_and_counts_the_queue():
    started, release = threading.Event(), threading.Event()
    done = []

    def blocking(x: int) -> int:
        started.set()
        release.wait(5.0)
        return x

    runner = AsyncExplainer(blocking, done.append, max_pending=4)
    for i in range(4):
        runner.submit(f"a{i}", i)
    assert started.wait(5.0)  # the worker holds a0; a1..a3 wait in the queue
    runner.close(timeout_s=0.1, drain=False)
    assert runner.stats().discarded == 3
    release.set()
    assert runner.wait_idle(5.0)
    assert [d.alert_id for d in done] == ["a0"]
    assert runner.stats().completed == 1
