"""RUL stage of a model set: the one RUL model (core/rul: population prior -> degradation onset
-> condition-based RUL, calibrated), run exactly as rul_node runs it (core/rul/live.py), fed
from the analysis window's accelerometer.

Every window with the accelerometer feeds it (not only when Stage 1's gate is open): the
estimator takes one `window_s` snapshot of the horizontal and vertical channels per
`update_period_s` of stream time, computes the model's indicators and judges the same snapshot
with its own any-machine AssetMonitor (the asset description the descriptor names), whose first
confirmed not-Normal state is the onset. Why its own monitor and not the cascade's Stage 1
state: the model's post-onset durations, damage levels and calibration were learned from that
monitor's states on those snapshots (evaluation/rul_rig.py, training/rul_fit.py); Stage 1 judges
other windows with other models, so its first Pre-Warning falls at another moment than the one
the model was fitted for, and the RUL would be off by that difference with nothing to say so
(docs/sections/rul.md, "Where the onset comes from").

Restarts: `keep_state(reference_dir, asset_id)` (the model set loader calls it with the monitor's
reference_dir) stores the onset monitor's reference (part "monitor_rul_snapshots") and the
tracker state (part "monitor_rul_state", core/rul/state.py) per asset and restores them, so the
monitor's ~/rul goes on after a restart; `reset()` (the monitor's ~/commission reset) forgets
both. The part names differ from the physics set's (the asset's own file, "acoustic") and from
rul_node's ("rul_snapshots", "rul_state"), so a monitor and a rul_node may share one folder.

descriptor (model_set.json, paths relative to its directory):
    "rul": {"kind": "prognosis", "model": "../rul_rig/rul_prognosis.json",
            "asset": "../../config/assets/rig_motor.yaml",   # optional: none = prior only
            "channels": ["x", "y"],                          # horizontal, vertical
            "update_period_s": 1.0, "window_s": 0.1,         # as the model was fitted
            "rpm": null, "load_n": null,                     # operating condition, if rated
            "count_downtime": false}                         # after a restart (core/rul/live)
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pm_monitor.core.acceleration_units import acceleration_scale
from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.pipeline import InputRejectedError
from pm_monitor.core.rul.live import LiveConfig, LiveEstimate, LiveRulEstimator
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.core.rul.state import RulStateStore
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL

if TYPE_CHECKING:
    from pm_monitor.core.model_set.descriptor import ModelSetDescriptor

RUL_KIND = "prognosis"
SNAPSHOTS_PART, STATE_PART = "monitor_rul_snapshots", "monitor_rul_state"
_DESCRIPTOR_KEYS = {"kind", "model", "asset", "channels", "update_period_s", "window_s", "rpm",
                    "load_n", "count_downtime"}


class PrognosisRul:
    """One asset's RUL from the window's accelerometer (unit: the model set's accel unit)."""

    name = "rul"
    required_inputs = (ACCEL,)

    def __init__(self, estimator: LiveRulEstimator, unit: str) -> None:
        self.estimator = estimator
        self.channels = (estimator.config.horizontal_channel, estimator.config.vertical_channel)
        self._to_g = float(acceleration_scale(unit, "g"))  # raises for an unknown unit
        self._latest: LiveEstimate | None = None
        self.skipped = 0  # windows without a usable accelerometer stretch

    @property
    def latest(self) -> LiveEstimate | None:
        return self._latest

    def observe(self, window: AnalysisWindow) -> LiveEstimate | None:
        stream = window.streams.get(ACCEL)
        if stream is None:
            return None
        names = list(stream.channel_names)
        missing = [c for c in self.channels if c not in names]
        n = max(round(self.estimator.config.window_s * stream.sample_rate), 1)
        if missing or len(stream.valid) < n or not bool(np.all(stream.valid[-n:])):
            # a gap in the newest samples (or channels absent): no snapshot from this window,
            # a later one gives it; counted, never a made-up estimate
            self.skipped += 1
            return None
        frames = stream.samples[:, [names.index(c) for c in self.channels]] * self._to_g
        try:
            made = self.estimator.on_samples(window.t_end_ns, stream.sample_rate, frames)
        except InputRejectedError:
            return None  # counted with its reason in the estimator's stats (status())
        if made:
            self._latest = made[-1]
            return self._latest
        return None

    def keep_state(self, reference_dir: Path | str, asset_id: str = "") -> None:
        """Store the onset reference and the tracker state of `asset_id` (default: the asset
        description's) under reference_dir and resume from them now (before the first
        window; `status()["rul_state"]` says what was restored or why it was refused)."""
        old, root = self.estimator, ReferenceStore(reference_dir)
        self.estimator = LiveRulEstimator(old.model, old.config, old.asset,
                                          root.part(SNAPSHOTS_PART),
                                          RulStateStore(root.part(STATE_PART).root),
                                          asset_id or old.asset_id)
        self._latest = None

    def reset(self) -> None:
        """A new bearing: forget the stream, the onset, and the stored state and reference."""
        self.estimator.reset()
        self._latest = None
        self.skipped = 0

    def status(self) -> dict[str, object]:
        """/diagnostics values: onset, evidence, the last refused input."""
        diag = self.estimator.diagnostics()
        stats = self.estimator.stats.inputs.get("accel")
        latest = self._latest
        return {"rul_onset_source": diag["onset_source"],
                "rul_onset_detected": diag["onset_detected"],
                "rul_health_state": diag["health_state"],
                "rul_estimates": self.estimator.stats.inference.windows,
                "rul_evidence_kind": "" if latest is None else latest.distribution.evidence,
                "rul_windows_skipped": self.skipped,
                "rul_last_refusal": "" if stats is None else (stats.last_error or ""),
                "rul_state": diag["rul_state"], "rul_note": diag["rul_note"]}


def prognosis_rul(entry: Mapping[str, Any], resolve, unit: str) -> PrognosisRul:
    """The stage a descriptor's `"rul"` entry names. resolve: descriptor-relative path ->
    Path. Raises ValueError (with the reason) for a bad entry, PrognosisModelError for a bad
    model file."""
    unknown = set(entry) - _DESCRIPTOR_KEYS
    if unknown:
        raise ValueError(f"rul entry has unknown keys {sorted(unknown)}")
    if entry.get("kind") != RUL_KIND:
        raise ValueError(f"rul kind must be {RUL_KIND!r}, got {entry.get('kind')!r}")
    if not entry.get("model"):
        raise ValueError("rul entry needs a model (path of a rul_prognosis.json)")
    channels = list(entry.get("channels", ["horizontal", "vertical"]))
    if len(channels) != 2:
        raise ValueError(f"rul channels must be [horizontal, vertical], got {channels}")
    model = PrognosisModel.load(Path(resolve(entry["model"])))
    asset = load_asset(Path(resolve(entry["asset"]))) if entry.get("asset") else None
    config = LiveConfig(horizontal_channel=str(channels[0]), vertical_channel=str(channels[1]),
                        update_period_s=float(entry.get("update_period_s", 10.0)),
                        window_s=float(entry.get("window_s", 0.1)),
                        rpm=entry.get("rpm"), load_n=entry.get("load_n"),
                        count_downtime=bool(entry.get("count_downtime", False)),
                        model_name=Path(str(entry["model"])).parent.name or "rul_prognosis")
    return PrognosisRul(LiveRulEstimator(model, config, asset), unit)


def descriptor_rul(descriptor: ModelSetDescriptor) -> PrognosisRul | None:
    """The RUL stage a model set's descriptor names (`stages.rul`), or None. A bad entry or
    model file is the descriptor's error (it names the file and the reason)."""
    entry = descriptor.stages.get("rul")
    if not entry:
        return None
    try:
        return prognosis_rul(entry, descriptor.file, descriptor.inputs[ACCEL].unit)
    except ValueError as err:  # PrognosisModelError included: names the model file
        raise descriptor.error(f"stages.rul: {err}") from err
