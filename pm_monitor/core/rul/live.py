"""Live RUL from an accelerometer sample stream, without ROS (the rul_node only converts; the
monitor's cascade feeds it analysis windows through its RUL stage, core/stages/rul.py).

chunks -> contiguous sample buffer -> every `update_period_s` of stream time, the newest
`window_s` of samples form a snapshot -> health indicators in physical units (the any-machine
features of core/condition/features.py, via core/rul/onset.py; any sample rate from
features.MIN_RATE_HZ, 2.2 kHz, as long as the model's indicators are observable at it: a model
over bands the rate cannot see is refused with the reason) and the
same snapshot judged by the any-machine `AssetMonitor` (core/condition/monitor.py, the asset's
description, rules with the model's rise ratios, commissioning on the first
`model.onset.reference_s` of the stream) -> the prognosis tracker (core/rul/prognosis.py:
population prior, onset = the monitor's first confirmed not-Normal state, condition-based RUL)
-> one estimate per snapshot.

Without an asset description there is no health state: the onset is never declared and every
estimate is the (calibrated, valid) population prior; diagnostics say `onset_source: none`.
The monitor here is the RUL path's own, judged on its own snapshots (the one that the fitted
model's onset statistics were learned from), not the monitor node's.

Time is message time (chunk stamps), so a replay at any speed gives the same estimates.
Elapsed life = stream time since the first accepted chunk + `elapsed_at_start_s` (the age of
the asset when monitoring started; 0 for a new bearing, as in FEMTO).

Restarts (core/rul/state.py): with a `RulStateStore` the tracker's state (operating time, onset,
most severe states, peak damage, damage filter) and the onset monitor's health state machine
are saved after every estimate and restored at construction. A stored state overrides
`elapsed_at_start_s`: elapsed life = the stored operating time + stream time of the new stream;
the time the node was down is not operation unless `count_downtime` (then the stamp gap
between the last saved snapshot and the new stream's first chunk is added; samples up to the
saved stamp, e.g. of overlapping analysis windows, are never counted twice). Stream time after
the last saved estimate and before the stop (less than one update period) is lost. A state
stored under another RUL model (a refit: a software update) keeps the asset's facts and the
new model computes its own part again (core/rul/state.py; `state_status` starts "migrated",
`model_change` says from what, and the estimates carry `note`). A stored state that cannot be
used (corrupt, other asset, newer format, bad content) is never used and never overwritten:
every estimate is published with valid=False until `reset()` (new bearing; the refused file is
kept aside as `<file>.bad`) or a restart with the file fixed; `state_status` says which case
holds.

`valid` is True only for a calibrated estimate (the model carries a calibration for the
evidence kind: population prior before the onset, condition-based after). Health index = 1 -
damage (1 healthy reference level, 0 the failure level of the training histories).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pm_monitor.core.acceleration_units import acceleration_scale
from pm_monitor.core.assets.description import AssetDescription
from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk
from pm_monitor.core.condition.features import RateError
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.explain.rul_relevance import RecentHistory
from pm_monitor.core.pipeline import InputRejectedError, InputStats, PipelineStats
from pm_monitor.core.rul.onset import OnsetConfig, indicator_names, snapshot_indicators
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisEstimate, PrognosisModel, PrognosisTracker
from pm_monitor.core.rul.state import (
    EstimatorState,
    RulStateError,
    RulStateStore,
    model_fingerprint,
    wrap,
)
from pm_monitor.core.types import HealthState

INPUT_NAME = "accel"


@dataclass(frozen=True)
class LiveConfig:
    horizontal_channel: str = "horizontal"
    vertical_channel: str = "vertical"
    update_period_s: float = 10.0  # one snapshot per period, like FEMTO's acquisition
    window_s: float = 0.1  # snapshot length (FEMTO: 2560 samples at 25.6 kHz)
    elapsed_at_start_s: float = 0.0
    rpm: float | None = None  # operating condition for the population prior
    load_n: float | None = None
    model_name: str = "rul_prognosis"
    # after a restart from a stored state, count the stamp gap since the last saved snapshot
    # as operation (the machine ran while the node was down; e.g. intermittent acquisition)
    count_downtime: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.update_period_s) and self.update_period_s > 0):
            raise ValueError(f"update_period_s must be > 0, got {self.update_period_s}")
        if not (math.isfinite(self.elapsed_at_start_s) and self.elapsed_at_start_s >= 0):
            raise ValueError(f"elapsed_at_start_s must be >= 0, got {self.elapsed_at_start_s}")
        if not (math.isfinite(self.window_s) and 0 < self.window_s <= self.update_period_s):
            raise ValueError(f"window_s must be in (0, update_period_s], got {self.window_s}")
        if self.horizontal_channel == self.vertical_channel:
            raise ValueError("horizontal and vertical channels must differ")


@dataclass(frozen=True)
class LiveEstimate:
    """One RUL estimate, at the end of the snapshot it used."""

    stamp_ns: int
    estimate: PrognosisEstimate
    model_name: str
    note: str = ""  # e.g. a RUL model change restarted the damage trend (LiveRulEstimator.note)

    def __getattr__(self, name: str):  # the prognosis fields, e.g. .valid, .rul_s, .evidence
        return getattr(self.estimate, name)


def onset_monitor(asset: AssetDescription, axes: Sequence[str], rate_hz: float,
                  onset: OnsetConfig, window_s: float, update_period_s: float,
                  store: ReferenceStore | None = None) -> AssetMonitor:
    """The any-machine monitor whose first confirmed not-Normal state is the RUL onset, fed one
    `window_s` snapshot every `update_period_s` (live and in the offline histories alike).
    Commissioning counts seconds of samples, so the model's reference_s of operation is
    reference_s x window_s / update_period_s of samples; the rules carry the model's rise
    ratios."""
    asset = replace(asset, commissioning_s=onset.reference_s * window_s / update_period_s)
    return AssetMonitor(asset, list(axes), rate_hz, store, rules=onset.health_rules())


def judged_state(assessment) -> HealthState | None:
    """The state an Assessment gives the onset (None while commissioning)."""
    return None if assessment.commissioning else assessment.state


def _rejecter(stats: InputStats):
    """reject(reason): count a refused input with its reason, give the error to raise."""
    def reject(reason: str) -> InputRejectedError:
        stats.rejected += 1
        stats.last_error = reason
        return InputRejectedError(reason)
    return reject


class LiveRulEstimator:
    def __init__(self, model: PrognosisModel, config: LiveConfig | None = None,
                 asset: AssetDescription | None = None,
                 store: ReferenceStore | None = None,
                 state_store: RulStateStore | None = None, asset_id: str = "") -> None:
        """store: where the onset monitor keeps its commissioning reference; state_store:
        where the tracker state is kept (None: not kept, a restart starts as a new asset);
        asset_id: the state's and the reference's key (default: the asset description's id).
        Raises ValueError for an asset watched by its microphone alone: the onset monitor
        judges vibration (use no asset for the population prior)."""
        if asset is not None and not asset.accelerometer:
            raise ValueError(f"asset {asset.asset_id} is watched by its microphone alone "
                             "(accelerometer.enabled: false): the RUL onset needs its vibration; "
                             "give no asset (asset_file none) for the population prior only")
        self.model = model
        self.config = config or LiveConfig()
        self.asset_id = asset_id or (asset.asset_id if asset is not None else "asset")
        if asset is not None and asset.asset_id != self.asset_id:
            asset = replace(asset, asset_id=self.asset_id)
        self.asset, self.store, self.state_store = asset, store, state_store
        self.condition = OperatingCondition(self.config.rpm, self.config.load_n)
        self._fresh()
        self.state_saves = 0
        self.state_save_ms_max = 0.0
        self.state_save_error = ""  # the last save's failure ("" = saved, or none yet)
        self.state_save_ms_sum = 0.0
        self._fingerprint = model_fingerprint(model) if state_store is not None else ""
        self._restore()

    def reset(self) -> None:
        """A new bearing was fitted: forget the stream, history, onset and counters, and the
        stored tracker state and onset reference (commissioning starts again)."""
        if self.state_store is not None:  # a refused file is kept aside (<file>.bad)
            self.state_store.reset(self.asset_id, keep_aside=self._state_problem is not None)
        if self.store is not None:
            self.store.reset(self.asset_id)
        self._fresh()
        self.state_save_error = ""
        self.state_status = ("new asset (reset)" if self.state_store is not None
                             else "not stored (no state store)")

    def _fresh(self) -> None:
        """The in-memory state of a new asset and a new stream."""
        self.stats = PipelineStats()
        self.tracker = PrognosisTracker(self.model, self.condition,
                                        self.config.elapsed_at_start_s)
        self._start_s = self.config.elapsed_at_start_s  # operating time at the stream start
        self._resume: EstimatorState | None = None  # the restored state until the stream starts
        self._state_problem: str | None = None  # why a stored state was refused
        self._model_changes: list[dict] = []  # the asset's RUL model changes (state file)
        self.model_change = None  # this restore's ModelChange (the file was another model's)
        self._last_change = None  # the asset's latest ModelChange (for the estimates' note)
        # the last snapshots and the tracker state before them: what an explanation of the
        # estimate replays (core/explain/rul_relevance.py); a copy of the small tracker each time
        self.recent = RecentHistory()
        self.sample_rate: float | None = None  # of the stream (any rate; fixed per stream)
        self._columns: list[int] = []  # of the model's indicators at the stream rate
        self.monitor: AssetMonitor | None = None  # built when the stream rate is known
        self.last_assessment = None  # the monitor's last Assessment (None: no monitor)
        self.window = 0
        self._period_ns = 0.0
        self._buffer = np.zeros((0, 2), dtype=np.float32)
        self._buffer_end_ns: int | None = None
        self._next_index: int | None = None
        self._first_stamp_ns: int | None = None
        self._last_snapshot_ns: int | None = None
        self.gaps = 0
        self.resets = 0

    # ------------------------------------------------------------------ stored state
    @property
    def state_path(self) -> Path | None:
        return None if self.state_store is None else self.state_store.path(self.asset_id)

    @property
    def state_refused(self) -> bool:
        """A stored state could not be used: no estimate is valid until reset()."""
        return self._state_problem is not None

    def _restore(self) -> None:
        """Resume from the stored state, if any (called once, at construction)."""
        if self.state_store is None:
            self.state_status = "not stored (no state store)"
            return
        path = self.state_path
        try:
            stored = self.state_store.read(self.asset_id, self.model, self.condition)
        except RulStateError as err:
            self._refuse(f"{path}: {err}")
            return
        if stored is None:
            self.state_status = (f"new asset: no stored state {path}; elapsed from "
                                 f"elapsed_at_start_s ({self.config.elapsed_at_start_s:g} s)")
            return
        self.tracker, self._start_s, self._resume = stored.tracker, stored.operating_s, stored
        self._model_changes = stored.model_changes
        self.model_change = stored.model_change
        self._last_change = stored.last_model_change
        onset = self.tracker.onset.onset_s
        self.state_status = (("migrated" if stored.model_change is not None else "restored")
                             + f" {path}: {stored.operating_s:.0f} s of operation"
                             + (f", onset at {onset:.0f} s" if onset is not None else
                                ", no onset yet")
                             + f" (elapsed_at_start_s {self.config.elapsed_at_start_s:g} s "
                             "not used)")
        if self._last_change is not None:
            self.state_status += f"; {self._last_change.note}"
        if self.tracker.condition_not_valid:
            self.state_status += ("; condition-based estimates not valid: "
                                  f"{self.tracker.condition_not_valid}")
        self._restore_recent(stored.recent)

    def _restore_recent(self, recent: dict | None) -> None:
        """The explanation's recent history (its healthy level above all: without it, the
        first rows after a restart, maybe a degraded level, would be read as healthy). A bad
        one is said and dropped; the estimates do not rest on it."""
        if recent is None:
            return
        try:
            self.recent = RecentHistory.from_dict(
                recent, lambda d: PrognosisTracker.from_dict(self.model, self.condition, d),
                len(self.model.indicator_names))
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            self.state_status += (f"; the explanation's recent history was not restored "
                                  f"({type(err).__name__}: {err})")

    def note(self) -> str:
        """What the current estimates say beside their numbers: why condition-based ones are
        not valid for this asset, or a recent model change (during the new model's
        reference_s of operation after it: whoever compares estimates across the update sees
        why they moved); "" otherwise."""
        if self.tracker.condition_not_valid:
            return (f"condition-based estimates not valid: {self.tracker.condition_not_valid}"
                    + (f" ({self._last_change.note})" if self._last_change else ""))
        change = self._last_change
        if change is None:
            return ""
        since = self.tracker.elapsed_s - change.at_operating_s
        return change.note if since <= max(self.model.onset.reference_s, 0.0) else ""

    def _refuse(self, reason: str) -> None:
        """A stored state that cannot be used: start as a new asset, publish nothing valid,
        never overwrite the file (the user resets, or fixes it and restarts)."""
        self.tracker = PrognosisTracker(self.model, self.condition,
                                        self.config.elapsed_at_start_s)
        self._start_s, self._resume = self.config.elapsed_at_start_s, None
        self._model_changes, self.model_change, self._last_change = [], None, None
        self.recent = RecentHistory()  # a history of the refused state is not this asset's
        self._state_problem = reason
        self.state_status = (f"refused: {reason}; estimates are not valid until the asset is "
                             "reset (new bearing) or the file is fixed")

    def _start_stream(self, first_ns: int, newest_ns: int) -> None:
        """The first samples of this stream (first_ns .. newest_ns): the operating time's
        origin, and after a restart the next snapshot, continue from the restored state."""
        self._first_stamp_ns = first_ns  # elapsed = stamp - origin + _start_s
        resume = self._resume
        if resume is None:
            return
        last = resume.last_stamp_ns
        if newest_ns <= last:  # time went back (a replay from its start): a new timeline
            return
        self._last_snapshot_ns = last
        # samples up to the saved stamp are counted already (overlapping analysis windows);
        # the gap after it (the node was down) only when the user says the machine ran
        if first_ns < last or self.config.count_downtime:
            self._first_stamp_ns = last

    def _apply_resume_to_monitor(self) -> None:
        """The restored health state machine goes to the onset monitor when it is built."""
        resume = self._resume
        if resume is None or self.monitor is None:
            return
        if resume.monitor_commissioned and not self.monitor.commissioned:
            self._refuse(f"{self.state_path}: the onset monitor was commissioned but its "
                         "stored reference is gone (reference_dir changed?)")
            return
        if resume.health_machine is not None:
            self.monitor.machine.restore(resume.health_machine)

    def _save(self, end_ns: int, t_s: float) -> None:
        """The state after this estimate, atomically (a few kB); an error is reported, not
        raised (the estimate is published all the same)."""
        if self.state_store is None or self._state_problem is not None:
            return
        started = time.perf_counter()
        monitor = self.monitor
        recent = self.recent.to_dict(PrognosisTracker.to_dict) if len(self.recent) else None
        state = EstimatorState(self.tracker, t_s, end_ns,
                               None if monitor is None else monitor.machine.to_dict(),
                               monitor is not None and monitor.commissioned,
                               self._model_changes, recent=recent)
        try:
            self.state_store.save(self.asset_id, wrap(state.body(), self.model, self.asset_id,
                                                      self._fingerprint))
        except (OSError, ValueError) as err:
            self.state_save_error = f"{type(err).__name__}: {err}"
            return
        self.state_save_error = ""
        self.state_saves += 1
        took_ms = (time.perf_counter() - started) * 1e3
        self.state_save_ms_sum += took_ms
        self.state_save_ms_max = max(self.state_save_ms_max, took_ms)

    # ------------------------------------------------------------------ input
    def on_chunk(self, stamp_ns: int, sample_rate: float, channel_names: Sequence[str],
                 unit: str, first_sample_index: int, samples: np.ndarray
                 ) -> list[LiveEstimate]:
        """A SensorChunk's fields. Raises InputRejectedError (already counted) if bad."""
        stats = self.stats.inputs.setdefault(INPUT_NAME, InputStats())
        stats.received += 1
        frames = self._validate(stats, stamp_ns, sample_rate, channel_names, unit, samples)
        names = list(channel_names)
        picked = frames[:, [names.index(self.config.horizontal_channel),
                            names.index(self.config.vertical_channel)]]
        picked = picked * np.float32(acceleration_scale(unit, "g"))
        self._append(stamp_ns, int(first_sample_index), picked)
        if stats.first_stamp_ns is None:
            stats.first_stamp_ns = stamp_ns
        stats.last_stamp_ns = stamp_ns
        return self._maybe_estimate()

    def _validate(self, stats: InputStats, stamp_ns: int, sample_rate: float,
                  channel_names: Sequence[str], unit: str, samples: np.ndarray) -> np.ndarray:
        reject = _rejecter(stats)
        if stamp_ns <= 0:
            raise reject("stamp is zero: the sensor driver sets no time")
        try:
            frames = decode_chunk(samples, channel_names, sample_rate)
        except ChunkDecodeError as err:
            raise reject(str(err)) from None
        self._check_rate(sample_rate, reject)
        missing = [c for c in (self.config.horizontal_channel, self.config.vertical_channel)
                   if c not in channel_names]
        if missing:
            raise reject(f"channels {missing} not in chunk channels {list(channel_names)}")
        try:
            acceleration_scale(unit, "g")
        except ValueError as err:
            raise reject(str(err)) from None
        return frames

    def _check_rate(self, sample_rate: float, reject) -> None:
        """The first rate fixes the stream (indicator columns, onset monitor); a rate that is
        not a positive number, a later other rate, or one too low for a snapshot, raises
        reject(reason)."""
        if not (math.isfinite(sample_rate) and sample_rate > 0):
            raise reject(f"sample_rate {sample_rate} Hz is not a positive number")
        sample_rate = float(sample_rate)
        if self.sample_rate is None:
            try:
                columns = self._model_columns(sample_rate)
            except RateError as err:
                raise reject(str(err)) from None
            try:  # e.g. a stored reference of another rate or axes: refused with the reason
                monitor = self._new_monitor(sample_rate)
            except ValueError as err:
                raise reject(f"onset monitor: {err}") from None
            self._set_rate(sample_rate)
            self._columns, self.monitor = columns, monitor
            self._apply_resume_to_monitor()
        elif abs(sample_rate - self.sample_rate) > 1e-6 * self.sample_rate:
            raise reject(f"sample_rate {sample_rate} Hz differs from this stream's "
                         f"{self.sample_rate:g} Hz (reset the estimator for a new stream)")
        if self.window < 64:
            raise reject(f"sample_rate {sample_rate} Hz gives only {self.window} samples per "
                         f"{self.config.window_s} s snapshot (need 64)")

    def on_samples(self, end_ns: int, sample_rate: float, frames_g: np.ndarray
                   ) -> list[LiveEstimate]:
        """A contiguous stretch of (n, 2) samples in g (horizontal, vertical) ending at
        end_ns, e.g. the accelerometer of one analysis window of the monitor's cascade
        (core/stages/rul.py): a snapshot from its newest `window_s` once an update period has
        passed since the last one. Overlapping stretches are fine (only the newest samples
        are used). Raises InputRejectedError (already counted) for a rate it cannot use."""
        stats = self.stats.inputs.setdefault(INPUT_NAME, InputStats())
        stats.received += 1
        reject = _rejecter(stats)
        if end_ns <= 0:
            raise reject("stamp is zero: the sensor driver sets no time")
        self._check_rate(sample_rate, reject)
        frames = np.asarray(frames_g, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != 2 or not np.isfinite(frames).all():
            raise reject(f"need finite (n, 2) samples, got shape {frames.shape}")
        if len(frames) < self.window:
            raise reject(f"{len(frames)} samples, fewer than one {self.config.window_s} s "
                         f"snapshot ({self.window})")
        if self._first_stamp_ns is None:
            self._start_stream(end_ns - round(len(frames) * 1e9 / self.sample_rate), end_ns)
            stats.first_stamp_ns = end_ns
        stats.last_stamp_ns = end_ns
        self._buffer = frames[-self.window:]
        self._buffer_end_ns = end_ns
        return self._maybe_estimate()

    def _model_columns(self, sample_rate: float) -> list[int]:
        """Where the model's indicators are among those computed at this rate."""
        names = indicator_names(sample_rate)  # raises RateError below the analysable rate
        missing = [n for n in self.model.indicator_names if n not in names]
        if missing:
            raise RateError(f"the model's indicators {missing} are not computed at "
                            f"{sample_rate:g} Hz (a band above 0.45 x the rate, or a name that "
                            f"core/rul/onset.indicator_names does not know: an older model?)")
        return [names.index(n) for n in self.model.indicator_names]

    def _new_monitor(self, sample_rate: float) -> AssetMonitor | None:
        if self.asset is None:
            return None
        cfg = self.config
        return onset_monitor(self.asset, [cfg.horizontal_channel, cfg.vertical_channel],
                             sample_rate, self.model.onset, cfg.window_s, cfg.update_period_s,
                             self.store)

    def _set_rate(self, sample_rate: float) -> None:
        self.sample_rate = sample_rate
        self.window = round(self.config.window_s * sample_rate)
        # Snapshots may come a little early (FEMTO's clock jitters by ~10 us; a replay places
        # them by sample index): up to half a window early still counts as the next period.
        self._period_ns = self.config.update_period_s * 1e9 - self.config.window_s * 1e9 / 2

    def _append(self, stamp_ns: int, first_index: int, frames: np.ndarray) -> None:
        if self._next_index is not None and first_index != self._next_index:
            # A gap (index jumps ahead) or a duplicate / sensor reset (index goes back): the
            # buffered samples are no longer contiguous with this chunk, start a new window.
            if first_index > self._next_index:
                self.gaps += 1
            else:
                self.resets += 1
            self._buffer = self._buffer[:0]
        end_ns = stamp_ns + round(len(frames) * 1e9 / self.sample_rate)
        if self._first_stamp_ns is None:
            self._start_stream(stamp_ns, end_ns)
        self._buffer = np.concatenate([self._buffer, frames])[-self.window:]
        self._next_index = first_index + len(frames)
        self._buffer_end_ns = end_ns

    # ------------------------------------------------------------------ model
    def _elapsed_s(self, stamp_ns: int) -> float:
        return (stamp_ns - self._first_stamp_ns) / 1e9 + self._start_s

    def _maybe_estimate(self) -> list[LiveEstimate]:
        if len(self._buffer) < self.window or self._buffer_end_ns is None:
            return []
        end_ns = self._buffer_end_ns
        if (self._last_snapshot_ns is not None
                and end_ns - self._last_snapshot_ns < self._period_ns):
            return []
        started = time.perf_counter()
        self._last_snapshot_ns = end_ns
        inference = self.stats.inference
        horizontal, vertical = self._buffer[:, 0], self._buffer[:, 1]
        try:
            values = snapshot_indicators(horizontal, vertical, self.sample_rate)[self._columns]
            t_s = self._elapsed_s(end_ns)
            state = None
            if self.monitor is not None:
                rpm = self.config.rpm if self.config.rpm else None
                self.last_assessment = self.monitor.process(
                    np.stack([horizontal, vertical], axis=1), "g", rpm)
                state = judged_state(self.last_assessment)
            self.recent.before_update(self.tracker, t_s, values, state)
            self.tracker.update(t_s, values, state)
            prognosis = self.tracker.estimate()
            if self._state_problem is not None:  # resting on a state it could not restore
                prognosis = replace(prognosis, valid=False)
            estimate = LiveEstimate(end_ns, prognosis, self.config.model_name, self.note())
        except Exception as err:  # a live node reports and goes on
            inference.failures += 1
            inference.last_failure = f"{type(err).__name__}: {err}"
            return []
        self._resume = None  # the stream carries on from here
        self._save(end_ns, t_s)
        inference.windows += 1
        latency_ms = (time.perf_counter() - started) * 1e3
        inference.latency_ms_sum += latency_ms
        inference.latency_ms_max = max(inference.latency_ms_max, latency_ms)
        inference.recent_ms.append(latency_ms)
        return [estimate]

    def diagnostics(self) -> dict[str, object]:
        """Flat key/values in the synchroniser format of nodes/diagnostics.py (the snapshot
        buffer plays the synchroniser's part: one 'window' per snapshot)."""
        return {"windows_emitted": self.stats.inference.windows, "windows_dropped": 0,
                "windows_with_missing": 0, "resets": self.resets,
                f"{INPUT_NAME}_gaps": self.gaps, f"{INPUT_NAME}_resets": self.resets,
                "onset_detected": self.tracker.onset.onset_s is not None,
                "onset_s": (self.tracker.onset.onset_s
                            if self.tracker.onset.onset_s is not None else -1.0),
                "onset_trigger": self.tracker.onset.trigger or "",
                "onset_source": "none" if self.asset is None else
                f"any-machine monitor ({self.asset.asset_id})",
                "health_state": ("" if self.last_assessment is None
                                 else self.last_assessment.state.name.lower()),
                "damage": self.tracker.damage,
                "buffered_frames": len(self._buffer),
                "rul_state": self.state_status + (f"; last save failed: {self.state_save_error}"
                                                  if self.state_save_error else ""),
                "rul_note": self.note(),
                "rul_state_saves": self.state_saves,
                "rul_state_save_ms_max": self.state_save_ms_max}
