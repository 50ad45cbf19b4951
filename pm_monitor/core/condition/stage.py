"""The physics path as a Stage 1 building block: an analysis window's accelerometer (1..N named
axes, any rate the asset supports) -> an `Assessment` of the asset against its own reference.

Windows come from the monitor's synchroniser (overlapping by window - hop): commissioning
counts only the seconds not seen in the previous window. A window without the accelerometer,
or with too much of it missing, does not vote (None, with the reason in `last_skip`).
"""
from __future__ import annotations

from pm_monitor.core.assets.description import AssetDescription
from pm_monitor.core.condition.monitor import Assessment, AssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.sync.window import AnalysisWindow

MIN_COVERAGE = 0.95  # gaps are zero-filled by the synchroniser: they would fake a level drop


class PhysicsStage:
    def __init__(self, asset: AssetDescription, store: ReferenceStore | None,
                 stream: str = "accel", unit: str | None = None) -> None:
        self.asset, self.store, self.stream = asset, store, stream
        self.unit = unit or asset.unit  # the unit the pipeline delivers the stream in
        self.monitor: AssetMonitor | None = None
        self.last_skip = ""
        self._last_end_ns: int | None = None

    def _monitor_for(self, axes: list[str], rate_hz: float) -> AssetMonitor:
        m = self.monitor
        if m is None or m.axes != axes or abs(m.rate_hz - rate_hz) > 1e-6 * rate_hz:
            self.monitor = m = AssetMonitor(self.asset, axes, rate_hz, self.store)
        return m

    @property
    def progress(self) -> float:
        if self.monitor is not None:
            return self.monitor.reference.progress
        ref = self.store.load(self.asset.asset_id) if self.store is not None else None
        return ref.progress if ref is not None else 0.0

    def reset_states(self) -> None:
        if self.monitor is not None:
            self.monitor.restart_states()
        self._last_end_ns = None

    def reset_commissioning(self) -> None:
        """After maintenance: forget the reference and learn again."""
        if self.monitor is not None:
            self.monitor.reset()
        elif self.store is not None:
            self.store.reset(self.asset.asset_id)

    def process(self, window: AnalysisWindow, shaft_rpm: float | None = None
                ) -> Assessment | None:
        sw = window.streams.get(self.stream)
        if sw is None:
            self.last_skip = f"no {self.stream} data in the window"
            return None
        if sw.coverage < MIN_COVERAGE:
            self.last_skip = f"{self.stream} covers {sw.coverage:.0%} of the window"
            return None
        monitor = self._monitor_for(list(sw.channel_names), float(sw.sample_rate))
        new_s = window.duration_s
        if self._last_end_ns is not None and window.t_end_ns > self._last_end_ns:
            new_s = min(new_s, (window.t_end_ns - self._last_end_ns) / 1e9)
        self._last_end_ns = window.t_end_ns
        self.last_skip = ""
        return monitor.process(sw.samples, self.unit, shaft_rpm=shaft_rpm, new_s=new_s)
