"""The RUL tracker's state on disk, so that the remaining life survives a restart of the node and
an update of the RUL model.

Everything an estimate rests on lives in the tracker (core/rul/prognosis.py PrognosisTracker)
and in the onset monitor's health state machine (core/condition/health.py). `RulStateStore`
keeps one small JSON file per asset (`<asset_id>.rul_state.json`), written atomically
(core/atomic_file.py) after every estimate and read at start-up by core/rul/live.py
LiveRulEstimator. The file says what it belongs to: its format version, the RUL model's name and
fingerprint, and the asset id.

Format version 2 splits the state in two:
- "asset": facts about the asset, whatever model reads them: operating time, stream stamp, the
  onset monitor's health state machine, onset time and trigger, first time in each severe
  state, the damage score's memory (with the key it depends on: indicators, reference_s,
  smooth_s), the peak scores since the onset, and the model changes the asset has been
  through;
- "model": what the model computed from them (damage, peak damage, Kalman filter, ceiling).
A file of the loaded model (same name and fingerprint) is resumed exactly. A file of another
model (a refit, a replaced model: a software update) keeps the asset facts and computes the
model part again under the loaded model (PrognosisTracker.migrated says what that loses); the
restore carries a `ModelChange` that the estimator publishes (note, /diagnostics, one WARN).
Version-1 files (the release before) are read too: the same content, not split, and without
the memory key, which is known for a file of the loaded model and for the models that release
shipped (V1_MEMORY_KEYS); for any other the memory is dropped, as under another key.

Refused with the reason (`RulStateError`), never used: an unreadable or corrupt file, another
asset's, a newer format's, content of the wrong shape. The estimator then publishes its
estimates as not valid until the asset is reset (new bearing) or the file is fixed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from pm_monitor.core.atomic_file import write_text_atomic
from pm_monitor.core.condition.health import HealthStateMachine
from pm_monitor.core.condition.reference import check_asset_id
from pm_monitor.core.rul.onset import OnsetTracker, memory_key
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel, PrognosisTracker

# 2: "asset" facts and "model" state apart, so that a model change keeps the asset's history
STATE_VERSION = 2
READABLE_VERSIONS = (1, 2)
SUFFIX = ".rul_state.json"
BAD_SUFFIX = ".bad"  # a refused file, kept aside by a reset instead of deleted
_FEMTO_INDICATORS = ["rms_g_h", "band_2.2_5khz_g_h", "band_5_10khz_g_h", "rms_g_v",
                     "band_2.2_5khz_g_v", "band_5_10khz_g_v"]
# The damage score's memory key of the models shipped with format version 1 (their
# fingerprints): a version-1 file does not say it, and guessing it would read a memory computed
# another way as this one.
V1_MEMORY_KEYS = {
    "32c7690b7a6320f5": {"indicators": _FEMTO_INDICATORS, "reference_s": 600.0,
                         "smooth_s": 50.0},  # models/rul_femto (round 4)
    "47918a039445a136": {"indicators": _FEMTO_INDICATORS, "reference_s": 30.0,
                         "smooth_s": 5.0},  # models/rul_rig (round 4)
}


class RulStateError(ValueError):
    """A stored RUL state that cannot be used (corrupt, other version or asset, bad content)."""


def model_fingerprint(model: PrognosisModel) -> str:
    """A hash of the model's content (its to_dict as canonical JSON): what was fitted, not
    how the file is formatted; another fit, calibration or format version gives another."""
    text = json.dumps(model.to_dict(), sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def wrap(body: dict, model: PrognosisModel, asset_id: str, fingerprint: str = "") -> dict:
    """The file content: what it belongs to, then the estimator's state (`body`).
    fingerprint: model_fingerprint(model), when the caller has it (it hashes the model)."""
    return {"version": STATE_VERSION, "asset_id": asset_id, "model_name": model.name,
            "model_fingerprint": fingerprint or model_fingerprint(model),
            "saved_utc": utc_now(), "state": body}


@dataclass(frozen=True)
class ModelChange:
    """A stored state of one RUL model read by another (a refit or a replaced model)."""

    old_model: str  # "<name> (<fingerprint>)"
    new_model: str
    at_utc: str
    at_operating_s: float
    memory_kept: bool  # the damage score's memory was computed the new model's way
    from_version: int  # the file's format version

    @property
    def note(self) -> str:
        """What the estimates after the change say."""
        return (f"RUL model changed {self.old_model} -> {self.new_model} at {self.at_utc} "
                f"({self.at_operating_s:.0f} s of operation): damage recomputed by the new "
                "model"
                + ("" if self.memory_kept else
                   "; damage score reference taken again (other indicators / reference)"))


def _model_label(name: object, fingerprint: object) -> str:
    return f"{name} ({fingerprint})"


def _upgrade_v1(body: dict, key: dict | None) -> dict:
    """A version-1 body (one flat tracker dict) in version 2's layout. key: the memory key its
    damage score was computed under (None: unknown, so never reused)."""
    tracker = body["tracker"]
    onset = tracker["onset"]
    memory = {name: onset[name] for name in ("reference", "t0", "early", "recent", "score",
                                              "floor")}
    facts = {"elapsed_at_start_s": tracker["elapsed_at_start_s"], "last_t": tracker["last_t"],
             "first_in_state": tracker["first_in_state"],
             "onset": {"onset_s": onset["onset_s"], "trigger": onset["trigger"],
                       "memory": {"key": key, **memory}},
             "peak_scores": None, "memory_restarted_s": None, "condition_not_valid": None}
    return {"asset": {"operating_s": body["operating_s"], "last_stamp_ns": body["last_stamp_ns"],
                      "health_machine": body["health_machine"],
                      "monitor_commissioned": body["monitor_commissioned"],
                      "model_changes": [], "tracker": facts},
            "model": {name: tracker[name] for name in ("damage", "peak_damage", "kalman",
                                                       "ceiling")}}


def unwrap(data: object, model: PrognosisModel, asset_id: str,
           fingerprint: str = "") -> tuple[dict, ModelChange | None]:
    """The estimator's state (version 2 layout) of a file `wrap` made for this asset, and the
    model change when it was written for another model (None: the loaded one). Raises
    RulStateError with the reason for a file that cannot be used."""
    if not isinstance(data, dict) or not isinstance(data.get("state"), dict):
        raise RulStateError("not a RUL state (no 'state' object)")
    version = data.get("version")
    if version not in READABLE_VERSIONS:
        newer = isinstance(version, int) and version > STATE_VERSION
        raise RulStateError(f"format version {version!r}, this node reads "
                            f"{' and '.join(map(str, READABLE_VERSIONS))}"
                            + (" (written by a newer pm_monitor)" if newer else ""))
    if data.get("asset_id") != asset_id:
        raise RulStateError(f"state of asset {data.get('asset_id')!r}, not {asset_id!r}")
    fingerprint = fingerprint or model_fingerprint(model)
    old_fingerprint = data.get("model_fingerprint")
    same = data.get("model_name") == model.name and old_fingerprint == fingerprint
    body = data["state"]
    if version == 1:
        key = memory_key(model.onset) if same else V1_MEMORY_KEYS.get(str(old_fingerprint))
        try:
            body = _upgrade_v1(body, key)
        except (KeyError, TypeError) as err:
            raise RulStateError(f"version-1 state: {type(err).__name__}: {err}") from None
    if same:
        return body, None
    try:
        operating_s = float(body["asset"]["operating_s"])
    except (KeyError, TypeError, ValueError) as err:
        raise RulStateError(f"{type(err).__name__}: {err}") from None
    return body, ModelChange(_model_label(data.get("model_name"), old_fingerprint),
                             _model_label(model.name, fingerprint), utc_now(), operating_s,
                             memory_kept=False, from_version=int(version))


@dataclass
class EstimatorState:
    """What the live estimator resumes from (core/rul/live.py)."""

    tracker: PrognosisTracker
    operating_s: float  # operating time at the last stored estimate (its snapshot's end)
    last_stamp_ns: int  # message time of that snapshot's last sample
    health_machine: dict | None  # the onset monitor's HealthStateMachine.to_dict()
    monitor_commissioned: bool  # its reference was complete (it must be found again)
    model_changes: list[dict] = field(default_factory=list)  # ModelChange dicts, oldest first
    model_change: ModelChange | None = None  # this restore's (the file was another model's)
    # the explanation's recent history (core/explain/rul_relevance.py RecentHistory.to_dict,
    # read by core/rul/live.py); None: none stored, or another model's (not replayable)
    recent: dict | None = None

    def body(self) -> dict:
        tracker = self.tracker.to_dict()
        return {"asset": {"operating_s": self.operating_s,
                          "last_stamp_ns": int(self.last_stamp_ns),
                          "health_machine": self.health_machine,
                          "monitor_commissioned": self.monitor_commissioned,
                          "model_changes": list(self.model_changes),
                          "tracker": tracker["facts"]},
                "model": tracker["model"], "recent": self.recent}

    @property
    def last_model_change(self) -> ModelChange | None:
        """The asset's most recent model change (this restore's, or an earlier one's)."""
        if self.model_change is not None:
            return self.model_change
        return ModelChange(**self.model_changes[-1]) if self.model_changes else None

    @classmethod
    def from_body(cls, body: dict, model: PrognosisModel, condition: OperatingCondition,
                  change: ModelChange | None = None) -> EstimatorState:
        """The state of a version-2 body; with `change` (the body is another model's), the
        asset facts under `model` (PrognosisTracker.migrated). Raises RulStateError with the
        reason for content it cannot use."""
        try:
            asset = body["asset"]
            if change is None:
                tracker = PrognosisTracker.from_dict(
                    model, condition, {"facts": asset["tracker"], "model": body["model"]})
            else:
                tracker = PrognosisTracker.migrated(model, condition, asset["tracker"],
                                                   body["model"])
                kept = OnsetTracker.memory_fits(model.onset, asset["tracker"]["onset"])
                change = replace(change, memory_kept=kept)
            operating_s = float(asset["operating_s"])
            if not (math.isfinite(operating_s) and operating_s >= 0):
                raise ValueError(f"operating time {operating_s}")
            machine = asset["health_machine"]
            if machine is not None:  # checked now, given to the onset monitor when built
                HealthStateMachine().restore(machine)
            changes = [dict(c) for c in asset["model_changes"]]
            for c in changes:
                ModelChange(**c)  # checked: a bad record is a bad file
            if change is not None:
                changes.append(asdict(change))
            # the recent history replays this model's tracker states: not another model's
            recent = body.get("recent") if change is None else None
            return cls(tracker, operating_s, int(asset["last_stamp_ns"]), machine,
                       bool(asset["monitor_commissioned"]), changes, change,
                       recent if isinstance(recent, dict) else None)
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise RulStateError(f"{type(err).__name__}: {err}") from None


class RulStateStore:
    """One state file per asset id under `root` (asset ids are file names, as in
    core/condition/reference.py ReferenceStore)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, asset_id: str) -> Path:
        return self.root / f"{check_asset_id(asset_id)}{SUFFIX}"

    def load(self, asset_id: str) -> object | None:
        """The parsed file, None when there is none (a new asset). Raises RulStateError for
        a file that cannot be read or parsed."""
        path = self.path(asset_id)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise RulStateError(f"unreadable: {type(err).__name__}: {err}") from None

    def save(self, asset_id: str, content: dict) -> Path:
        return write_text_atomic(self.path(asset_id), json.dumps(content, allow_nan=True))

    def read(self, asset_id: str, model: PrognosisModel,
             condition: OperatingCondition) -> EstimatorState | None:
        """The asset's stored estimator state for this model, None when there is none (a new
        asset). Raises RulStateError with the reason for a file that cannot be used."""
        data = self.load(asset_id)
        if data is None:
            return None
        body, change = unwrap(data, model, asset_id)
        return EstimatorState.from_body(body, model, condition, change)

    def reset(self, asset_id: str, keep_aside: bool = False) -> Path | None:
        """Forget the asset's state (a new bearing was fitted). keep_aside: a file that was
        refused is renamed `<file>.bad` (replacing an older one) rather than deleted, for
        whoever looks into why; returns that path (None: nothing kept)."""
        path = self.path(asset_id)
        if keep_aside and path.is_file():
            bad = path.with_name(path.name + BAD_SUFFIX)
            os.replace(path, bad)
            return bad
        path.unlink(missing_ok=True)
        return None
