"""Recent frames of one image input, sorted by stamp, for nearest-frame selection."""
from __future__ import annotations

from bisect import bisect_left
from enum import Enum

from pm_monitor.core.sync.window import FrameSample


class FrameAdmission(Enum):
    """What FrameBuffer.add did with a frame."""

    STORED = "stored"
    REORDERED = "reordered"  # older than the newest frame, inserted in stamp order
    DUPLICATE = "duplicate"  # a frame with that stamp is already held
    UNNEEDED = "unneeded"  # in order, but stamped where no pending window can use it
    LATE = "late"  # out of order and too old for any pending window
    OVERFLOW = "overflow"  # stored, but the oldest frame was pushed out of the full buffer


class FrameBuffer:
    """Frames of one image input kept while a future window may still pick them.

    Frames are discarded once no window can use them (`discard_before`); those never picked
    are counted as `dropped_unused`.
    """

    def __init__(self, name: str, max_frames: int = 256) -> None:
        if max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        self.name = name
        self.max_frames = max_frames
        self.dropped_unused = 0
        self.used = 0
        self.clear()

    def clear(self) -> None:
        """Forget every frame (counters are kept)."""
        self._stamps: list[int] = []
        self._frames: list[FrameSample] = []
        self._used: list[bool] = []
        self._discarded_up_to: int | None = None  # frames stamped below this were discarded
        self.newest_stamp_ns: int | None = None

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, frame: FrameSample) -> FrameAdmission:
        stamp = frame.stamp_ns
        in_order = self.newest_stamp_ns is None or stamp > self.newest_stamp_ns
        if self._discarded_up_to is not None and stamp < self._discarded_up_to:
            if not in_order:
                return FrameAdmission.LATE
            self.newest_stamp_ns = stamp
            self.dropped_unused += 1
            return FrameAdmission.UNNEEDED
        admission = FrameAdmission.STORED
        if in_order:
            self.newest_stamp_ns = stamp
            pos = len(self._stamps)
        else:
            pos = bisect_left(self._stamps, stamp)
            if pos < len(self._stamps) and self._stamps[pos] == stamp:
                return FrameAdmission.DUPLICATE
            admission = FrameAdmission.REORDERED
        self._stamps.insert(pos, stamp)
        self._frames.insert(pos, frame)
        self._used.insert(pos, False)
        if len(self._frames) > self.max_frames:
            self._discard(1)
            admission = FrameAdmission.OVERFLOW
        return admission

    def nearest(self, t_ns: int, slop_ns: int) -> FrameSample | None:
        """The frame nearest t_ns if within slop_ns (the earlier one on a tie); marks it used."""
        stamps = self._stamps
        pos = bisect_left(stamps, t_ns)
        best = None
        if pos < len(stamps):
            best = pos
        if pos > 0 and (best is None or t_ns - stamps[pos - 1] <= stamps[pos] - t_ns):
            best = pos - 1
        if best is None or abs(stamps[best] - t_ns) > slop_ns:
            return None
        if not self._used[best]:
            self._used[best] = True
            self.used += 1
        return self._frames[best]

    def discard_before(self, t_ns: int) -> None:
        """Drop frames stamped before t_ns: no later window can pick them."""
        self._discard(bisect_left(self._stamps, t_ns))
        if self._discarded_up_to is None or t_ns > self._discarded_up_to:
            self._discarded_up_to = t_ns

    def drop_all(self) -> None:
        """Discard every frame (unused ones are counted) and forget the discard horizon."""
        self._discard(len(self._frames))
        self.clear()

    def _discard(self, count: int) -> None:
        if count <= 0:
            return
        self.dropped_unused += count - sum(self._used[:count])
        if self._discarded_up_to is None or self._stamps[count - 1] >= self._discarded_up_to:
            self._discarded_up_to = self._stamps[count - 1] + 1
        del self._stamps[:count]
        del self._frames[:count]
        del self._used[:count]
