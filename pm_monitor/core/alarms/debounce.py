"""Anti-flicker of one alarm point: on-delay per level, off-delay per worst level.

Each window says one of three things about an alarm point's condition: "active at level L"
(L = 0 anomaly ... 3 failure), "clear" (outside the deadband), or "hold" (inside the deadband:
neither abnormal nor clearly normal). A hold breaks every run, so raising needs N consecutive
abnormal windows and clearing N consecutive clearly-normal ones (hysteresis). A level's
on-delay is met when the condition has been at that level or worse for N consecutive
windows *and* at least T seconds; escalation uses the same rule for the worse level, so it is
never later than that level's on-delay.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pm_monitor.core.alarms.config import LEVELS, AlarmConfig

HOLD = "hold"
CLEAR = "clear"


@dataclass
class _Run:
    windows: int = 0
    start_ns: int = 0


@dataclass
class ConditionFilter:
    """Turns per-window evidence into debounced decisions for one alarm point."""

    config: AlarmConfig
    _active: list[_Run] = field(default_factory=lambda: [_Run() for _ in LEVELS])
    _clear: _Run = field(default_factory=_Run)

    def observe(self, t_ns: int, evidence: int | str) -> None:
        """evidence: a level index 0..3 (condition active at that level), CLEAR or HOLD."""
        if evidence == HOLD:
            self.reset()
            return
        if evidence == CLEAR:
            for run in self._active:
                run.windows = 0
            self._extend(self._clear, t_ns)
            return
        level = int(evidence)
        if not 0 <= level < len(LEVELS):
            raise ValueError(f"evidence level must be 0..{len(LEVELS) - 1}, got {evidence!r}")
        self._clear.windows = 0
        for index, run in enumerate(self._active):
            if index <= level:
                self._extend(run, t_ns)
            else:
                run.windows = 0

    def raised_level(self, t_ns: int) -> int | None:
        """Worst level whose on-delay is met now, or None."""
        met = None
        for index, level in enumerate(LEVELS):
            windows, seconds = self.config.on_delay(level)
            run = self._active[index]
            if run.windows >= windows and (t_ns - run.start_ns) / 1e9 >= seconds - 1e-9:
                met = index
        return met

    def cleared(self, t_ns: int, worst_level: int) -> bool:
        """Has the clear condition lasted the off-delay of an alarm whose worst level is this?"""
        windows, seconds = self.config.off_delay(LEVELS[worst_level])
        run = self._clear
        return run.windows >= windows and (t_ns - run.start_ns) / 1e9 >= seconds - 1e-9

    def reset(self) -> None:
        for run in (*self._active, self._clear):
            run.windows = 0

    @staticmethod
    def _extend(run: _Run, t_ns: int) -> None:
        if run.windows == 0:
            run.start_ns = t_ns
        run.windows += 1
