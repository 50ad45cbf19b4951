"""Shared settings and helpers of the any-machine evaluation."""
from __future__ import annotations

import time
from pathlib import Path

OUT = Path("results/any_machine")
ASSETS = Path("config/assets")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fmt(v) -> str:
    """A table cell: '-' for None, 2 decimals for floats."""
    if v is None:
        return "-"
    return f"{v:.2f}" if isinstance(v, float) else str(v)
