"""Flood control: at most N new alarm annunciations per sliding period, per asset and node-wide.

ISA-18.2 benchmark: about 10 new alarms per 10 minutes per operator is manageable; more is a
flood. An annunciation the limits refuse is *suppressed*, not dropped: the manager keeps the
alarm (flagged), logs it, counts it, and shows it as soon as the rate allows. FAILURE is never
suppressed (it is still counted against the rate).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingRate:
    """Events in the last period_s (message time)."""

    max_events: int
    period_s: float
    _times: deque[int] = field(default_factory=deque)

    def _expire(self, t_ns: int) -> None:
        horizon = t_ns - round(self.period_s * 1e9)
        while self._times and self._times[0] <= horizon:
            self._times.popleft()

    def count(self, t_ns: int) -> int:
        self._expire(t_ns)
        return len(self._times)

    def has_room(self, t_ns: int) -> bool:
        return self.count(t_ns) < self.max_events

    def add(self, t_ns: int) -> None:
        self._times.append(t_ns)


@dataclass
class FloodControl:
    """Per-asset and node-wide limits on new annunciations."""

    asset_max: int
    asset_period_s: float
    node_max: int
    node_period_s: float
    _assets: dict[str, SlidingRate] = field(default_factory=dict)
    _node: SlidingRate | None = None

    def __post_init__(self) -> None:
        self._node = SlidingRate(self.node_max, self.node_period_s)

    def _asset(self, asset_id: str) -> SlidingRate:
        if asset_id not in self._assets:
            self._assets[asset_id] = SlidingRate(self.asset_max, self.asset_period_s)
        return self._assets[asset_id]

    def reconfigure(self, asset_max: int, asset_period_s: float, node_max: int,
                    node_period_s: float) -> None:
        """New limits; the annunciations already counted stay counted."""
        self.asset_max, self.asset_period_s = asset_max, asset_period_s
        self.node_max, self.node_period_s = node_max, node_period_s
        for rate in self._assets.values():
            rate.max_events, rate.period_s = asset_max, asset_period_s
        self._node.max_events, self._node.period_s = node_max, node_period_s

    def allows(self, asset_id: str, t_ns: int) -> bool:
        return self._asset(asset_id).has_room(t_ns) and self._node.has_room(t_ns)

    def record(self, asset_id: str, t_ns: int) -> None:
        self._asset(asset_id).add(t_ns)
        self._node.add(t_ns)

    def counts(self, asset_id: str, t_ns: int) -> tuple[int, int]:
        """(asset, node) annunciations inside their periods."""
        return self._asset(asset_id).count(t_ns), self._node.count(t_ns)
