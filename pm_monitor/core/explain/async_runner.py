"""Explanations off the alert path: a worker thread, a bounded queue, results by callback.

submit() never blocks: when the queue is full the request is refused, counted and reported to
`on_dropped` (never lost silently), and the caller carries on with the next window. Each
result carries the alert id it explains, the time the work took and the time it waited.
Callbacks run on the worker thread (rclpy publishers may be used from any thread).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


@dataclass(frozen=True)
class ExplanationDone(Generic[Result]):
    alert_id: str
    result: Result | None  # None when the work raised
    error: str  # "" on success, else "<ExceptionType>: message"
    computation_s: float  # time spent in the work function
    waited_s: float  # time between submit() and the start of the work
    request: object = None  # what was submitted

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class RunnerStats:
    submitted: int
    completed: int
    failed: int
    dropped: int  # refused because the queue was full, or submitted after close()
    discarded: int  # accepted but thrown away by close(drain=False)
    pending: int
    last_computation_s: float
    max_computation_s: float


class AsyncExplainer(Generic[Request, Result]):
    """AsyncExplainer(work, on_done): work(request) -> result runs on one worker thread."""

    def __init__(
        self,
        work: Callable[[Request], Result],
        on_done: Callable[[ExplanationDone[Result]], None],
        max_pending: int = 4,
        on_dropped: Callable[[str, int], None] | None = None,
        name: str = "pm_monitor_explainer",
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self._work = work
        self._on_done = on_done
        self._on_dropped = on_dropped
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._lock = threading.Lock()
        self._counts = {"submitted": 0, "completed": 0, "failed": 0, "dropped": 0,
                        "discarded": 0}
        self._last_s = self._max_s = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, alert_id: str, request: Request) -> bool:
        """Queue one explanation; False (and counted as dropped) if full or closed."""
        accepted = False
        if not self._closed:
            try:
                self._queue.put_nowait((alert_id, request, time.perf_counter()))
                accepted = True
            except queue.Full:
                pass
        with self._lock:
            self._counts["submitted" if accepted else "dropped"] += 1
            dropped = self._counts["dropped"]
        if not accepted and self._on_dropped is not None:
            self._on_dropped(alert_id, dropped)
        return accepted

    def stats(self) -> RunnerStats:
        with self._lock:
            return RunnerStats(**self._counts, pending=self._queue.qsize(),
                               last_computation_s=self._last_s, max_computation_s=self._max_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until every accepted request is done (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                done = (self._counts["completed"] + self._counts["failed"]
                        + self._counts["discarded"])
                if done >= self._counts["submitted"]:
                    return True
            time.sleep(0.005)
        return False

    def close(self, timeout_s: float = 5.0, drain: bool = True) -> None:
        """Stop accepting and stop the thread (waiting up to timeout_s). drain: finish what is
        queued first; else throw it away, counted in stats().discarded (node shutdown)."""
        if self._closed:
            return
        self._closed = True
        if not drain:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
                with self._lock:
                    self._counts["discarded"] += 1
        self._queue.put(None)  # the sentinel queues behind pending work
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            alert_id, request, submitted_at = item
            started = time.perf_counter()
            try:
                result, error = self._work(request), ""
            except Exception as err:  # a failed explanation must not kill the thread
                result, error = None, f"{type(err).__name__}: {err}"
            took = time.perf_counter() - started
            with self._lock:
                self._counts["failed" if error else "completed"] += 1
                self._last_s, self._max_s = took, max(self._max_s, took)
            try:
                self._on_done(ExplanationDone(alert_id, result, error, took,
                                              started - submitted_at, request))
            except Exception:
                # the caller's callback failing must not stop later explanations
                with self._lock:
                    self._counts["failed"] += 1
