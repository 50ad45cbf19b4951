"""What the synchroniser dropped and why, and which inputs have had everything dropped.

Every message or frame the synchroniser discards is recorded with its input, stamp and
reason (late, duplicate, overflow, no_partner, reset, ...): counted per input and reason,
and the recent ones kept for a ``~/sync_drops`` topic. An input whose every message has been
dropped for ``starving_after_s`` of stream time (it delivers, nothing of it reaches a window)
is *starving*: the node reports it as a WARN, since the models then silently lack it.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class DropRecord:
    input: str
    stamp_ns: int
    reason: str


class DropMonitor:
    """Drop counters, recent drops (bounded) and starving inputs, in stream time."""

    def __init__(self, starving_after_s: float = 5.0, max_recent: int = 1000) -> None:
        if starving_after_s <= 0 or max_recent < 1:
            raise ValueError("need starving_after_s > 0 and max_recent >= 1")
        self.starving_after_ns = round(starving_after_s * _NS_PER_S)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._recent: deque[DropRecord] = deque(maxlen=max_recent)
        self.recent_overflowed = 0  # drops recorded while the recent list was full
        self._dropping_since: dict[str, int] = {}  # first drop after the input's last use

    def dropped(self, name: str, stamp_ns: int, reason: str) -> None:
        self.counts[(name, reason)] += 1
        if len(self._recent) == self._recent.maxlen:
            self.recent_overflowed += 1
        self._recent.append(DropRecord(name, stamp_ns, reason))
        self._dropping_since.setdefault(name, stamp_ns)

    def used(self, name: str) -> None:
        """Something of input `name` reached a window."""
        self._dropping_since.pop(name, None)

    def drain(self) -> list[DropRecord]:
        """The drops recorded since the last call, oldest first."""
        records = list(self._recent)
        self._recent.clear()
        return records

    def starving(self, now_ns: int) -> dict[str, float]:
        """Inputs with everything dropped for at least starving_after_s: seconds so far."""
        return {name: (now_ns - since) / _NS_PER_S
                for name, since in self._dropping_since.items()
                if now_ns - since >= self.starving_after_ns}

    def reset_timeline(self) -> None:
        """Time went backwards: the spans measured so far mean nothing any more."""
        self._dropping_since.clear()

    def total(self, name: str) -> int:
        return sum(count for (input_name, _), count in self.counts.items() if input_name == name)
