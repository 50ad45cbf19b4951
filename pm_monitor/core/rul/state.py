"""The RUL tracker's state on disk, so that the remaining life survives a restart of the node.

Everything an estimate rests on lives in the tracker (core/rul/prognosis.py PrognosisTracker:
operating time, onset latch, damage score, most severe states reached, peak damage, damage
Kalman filter) and in the onset monitor's health state machine (core/condition/health.py).
`RulStateStore` keeps one small JSON file per asset (`<asset_id>.rul_state.json`), written
atomically (core/atomic_file.py) after every estimate and read at start-up by
core/rul/live.py LiveRulEstimator. The file says what it belongs to: its format version, the
RUL model's name and fingerprint, and the asset id. A file of another version, model or asset
is refused with the reason (`RulStateError`), never used: the estimator then publishes its
estimates as not valid until the asset is reset (new bearing) or the file is fixed.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from pm_monitor.core.atomic_file import write_text_atomic
from pm_monitor.core.condition.health import HealthStateMachine
from pm_monitor.core.condition.reference import check_asset_id
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel, PrognosisTracker

STATE_VERSION = 1
SUFFIX = ".rul_state.json"


class RulStateError(ValueError):
    """A stored RUL state that cannot be used (corrupt, other version, model or asset)."""


def model_fingerprint(model: PrognosisModel) -> str:
    """A hash of the model's content (its to_dict as canonical JSON): what was fitted, not
    how the file is formatted; another fit, calibration or format version gives another."""
    text = json.dumps(model.to_dict(), sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def wrap(body: dict, model: PrognosisModel, asset_id: str, fingerprint: str = "") -> dict:
    """The file content: what it belongs to, then the estimator's state (`body`).
    fingerprint: model_fingerprint(model), when the caller has it (it hashes the model)."""
    return {"version": STATE_VERSION, "asset_id": asset_id, "model_name": model.name,
            "model_fingerprint": fingerprint or model_fingerprint(model),
            "saved_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "state": body}


def unwrap(data: object, model: PrognosisModel, asset_id: str) -> dict:
    """The estimator's state of a file `wrap` made for this model and asset, else
    RulStateError with the reason."""
    if not isinstance(data, dict) or not isinstance(data.get("state"), dict):
        raise RulStateError("not a RUL state (no 'state' object)")
    version = data.get("version")
    if version != STATE_VERSION:
        newer = isinstance(version, int) and version > STATE_VERSION
        raise RulStateError(f"format version {version!r}, this node reads {STATE_VERSION}"
                            + (" (written by a newer pm_monitor)" if newer else ""))
    if data.get("asset_id") != asset_id:
        raise RulStateError(f"state of asset {data.get('asset_id')!r}, not {asset_id!r}")
    if (data.get("model_name") != model.name
            or data.get("model_fingerprint") != model_fingerprint(model)):
        raise RulStateError(f"state of RUL model {data.get('model_name')!r} (fingerprint "
                            f"{data.get('model_fingerprint')}), not of the loaded "
                            f"{model.name!r} ({model_fingerprint(model)}): the model changed")
    return data["state"]


@dataclass
class EstimatorState:
    """What the live estimator resumes from (core/rul/live.py)."""

    tracker: PrognosisTracker
    operating_s: float  # operating time at the last stored estimate (its snapshot's end)
    last_stamp_ns: int  # message time of that snapshot's last sample
    health_machine: dict | None  # the onset monitor's HealthStateMachine.to_dict()
    monitor_commissioned: bool  # its reference was complete (it must be found again)

    def body(self) -> dict:
        return {"operating_s": self.operating_s, "last_stamp_ns": int(self.last_stamp_ns),
                "tracker": self.tracker.to_dict(), "health_machine": self.health_machine,
                "monitor_commissioned": self.monitor_commissioned}

    @classmethod
    def from_body(cls, body: dict, model: PrognosisModel,
                  condition: OperatingCondition) -> EstimatorState:
        """Raises RulStateError with the reason for content it cannot use."""
        try:
            tracker = PrognosisTracker.from_dict(model, condition, body["tracker"])
            operating_s = float(body["operating_s"])
            if not (math.isfinite(operating_s) and operating_s >= 0):
                raise ValueError(f"operating time {operating_s}")
            machine = body["health_machine"]
            if machine is not None:  # checked now, given to the onset monitor when built
                HealthStateMachine().restore(machine)
            return cls(tracker, operating_s, int(body["last_stamp_ns"]), machine,
                       bool(body["monitor_commissioned"]))
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
        return EstimatorState.from_body(unwrap(data, model, asset_id), model, condition)

    def reset(self, asset_id: str) -> None:
        """Forget the asset's state (a new bearing was fitted)."""
        self.path(asset_id).unlink(missing_ok=True)
