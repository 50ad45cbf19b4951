"""Spin an executor until a condition holds (shared by the in-process node tests)."""
from __future__ import annotations

import time
from collections.abc import Callable


def spin_until(executor, condition: Callable[[], object], timeout_s: float = 10.0) -> bool:
    """Spin in 20 ms steps until condition() is true or timeout_s passes; returns condition()."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_once(timeout_sec=0.02)
    return bool(condition())
