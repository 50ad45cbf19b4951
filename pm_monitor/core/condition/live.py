"""The live physics path of one asset: sensor chunks in, assessments out.

Chunks (any length, 1..N named axes, any rate from 5 kHz, g or m/s^2) are cut into windows of
`window_s` every `hop_s`; each window goes through the asset's `AssetMonitor`. The same object
serves the ROS node and `python -m pm_monitor.commission` (a recording replayed chunk by chunk),
which is why a reference built from a recording equals the one built live.
A stream that cannot work (rate too low, axes changing mid-run, unknown unit) is refused with
the reason in `refusal`; nothing is judged from it (a model whose inputs are missing does not
vote).
"""
from __future__ import annotations

import numpy as np

from pm_monitor.core.assets.description import AssetDescription
from pm_monitor.core.condition.features import RateError
from pm_monitor.core.condition.monitor import Assessment, AssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.units import ACCELERATION_UNITS_M_S2

DEFAULT_WINDOW_S = 1.0


class LiveAssetMonitor:
    def __init__(self, asset: AssetDescription, store: ReferenceStore | None,
                 window_s: float = DEFAULT_WINDOW_S, hop_s: float | None = None) -> None:
        self.asset, self.store = asset, store
        self.window_s, self.hop_s = float(window_s), float(hop_s or window_s)
        self.monitor: AssetMonitor | None = None
        self.refusal = ""
        self._buffer: np.ndarray | None = None
        self._format: tuple | None = None
        self._fresh = True  # the next window holds no sample of an earlier one

    @property
    def progress(self) -> float:
        if self.monitor is not None:
            return self.monitor.reference.progress
        loaded = self.store.load(self.asset.asset_id) if self.store is not None else None
        return loaded.progress if loaded is not None else 0.0

    def reset(self) -> None:
        """Commissioning starts again (after maintenance); the stored reference is removed."""
        if self.monitor is not None:
            self.monitor.reset()
        elif self.store is not None:
            self.store.reset(self.asset.asset_id)

    def push(self, frames: np.ndarray, channel_names: list[str], rate_hz: float,
             unit: str) -> list[Assessment]:
        """Add one chunk (n, n_channels); returns the assessments of the windows it completed."""
        fmt = (tuple(channel_names), float(rate_hz), unit)
        if self._format is not None and fmt != self._format:
            self.refusal = (f"stream format changed from {self._format} to {fmt}; "
                            "windows restart")
            self._buffer = None
            self._fresh = True
        if self.monitor is None or fmt != self._format:
            if unit not in ACCELERATION_UNITS_M_S2:
                self.refusal = f"unknown acceleration unit {unit!r}"
                return []
            try:
                self.monitor = AssetMonitor(self.asset, list(channel_names), rate_hz, self.store)
            except (RateError, ValueError) as exc:
                self.refusal = str(exc)
                self.monitor = None
                self._format = fmt
                return []
            self.refusal = ""
        self._format = fmt
        data = np.asarray(frames, dtype=np.float64)
        self._buffer = data if self._buffer is None else np.concatenate([self._buffer, data])
        n, hop = round(self.window_s * rate_hz), round(self.hop_s * rate_hz)
        out = []
        while self._buffer.shape[0] >= n:
            new_s = self.window_s if self._fresh else self.hop_s
            out.append(self.monitor.process(self._buffer[:n], unit, new_s=new_s))
            self._fresh = False
            self._buffer = self._buffer[hop:]
        return out
