"""Events the synchronisation core reports instead of logging (the core never imports rclpy).

The ROS node turns them into log lines and diagnostic counters; tests assert on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SyncEventKind(Enum):
    """What happened. `is_warning` tells the node which ones deserve a WARN log line."""

    GAP = "gap"  # samples missing between two chunks (index jump)
    DUPLICATE = "duplicate"  # data already received, dropped
    OUT_OF_ORDER = "out_of_order"  # late data placed where it belongs
    LATE = "late"  # data too old to be placed, dropped
    STAMP_JUMP = "stamp_jump"  # stamp inconsistent with the sample index: re-anchored
    RATE_CHANGE = "rate_change"  # sample rate changed: stream reset
    SENSOR_RESET = "sensor_reset"  # index or stamp went backwards: stream reset
    TIME_BACKWARDS = "time_backwards"  # stream time jumped back (bag loop): assembler reset
    TIME_FORWARD = "time_forward"  # stream time leapt ahead: pending windows flushed
    MODALITY_TIMEOUT = "modality_timeout"  # a modality went silent past its timeout
    MODALITY_RESUMED = "modality_resumed"  # a timed-out modality delivers again

    @property
    def is_warning(self) -> bool:
        return self not in _INFO_KINDS


_INFO_KINDS = frozenset(
    {SyncEventKind.GAP, SyncEventKind.OUT_OF_ORDER, SyncEventKind.MODALITY_RESUMED}
)


@dataclass(frozen=True)
class SyncEvent:
    """One noteworthy occurrence on one source (stream, image input or the assembler itself)."""

    kind: SyncEventKind
    source: str
    stamp_ns: int
    detail: str = ""

    def __str__(self) -> str:
        return f"[{self.source}] {self.kind.value} at {self.stamp_ns} ns: {self.detail}"
