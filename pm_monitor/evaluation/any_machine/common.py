"""Shared settings and helpers of the any-machine evaluation."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import signal

OUT = Path("results/any_machine")
ASSETS = Path("config/assets")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fmt(v) -> str:
    """A table cell: '-' for None, 2 decimals for floats."""
    if v is None:
        return "-"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def decimated(x: np.ndarray, factor: int, axis: int = 0) -> np.ndarray:
    """`x` at 1/`factor` of its rate, anti-aliased as a sensor's own filter would be
    (scipy.signal.decimate: order-8 Chebyshev I low-pass at 0.8 x the new Nyquist, zero
    phase); `x` itself for factor 1. How the low-rate evaluation makes a MEMS-rate stream."""
    if factor == 1:
        return x
    return signal.decimate(np.asarray(x, dtype=np.float64), int(factor), axis=axis,
                           zero_phase=True)
