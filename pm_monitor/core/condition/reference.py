"""An asset's healthy reference, learned at commissioning, and its store on disk.

Commissioning collects the features of the asset's first windows (a duration, configurable);
`ReferenceBuilder.finish` turns them into
- robust per-channel statistics (median and MAD of each feature on each axis),
- a small anomaly model: a Gaussian on the log features, standardised with median/MAD and with
  a shrunk correlation matrix (robust Mahalanobis distance; numpy only, fitted in milliseconds),
  whose threshold is set from the commissioning windows' own distances,
- the envelope-line ratios at each declared defect order (what "normal" looks like there),
- the ISO velocity level.
`ReferenceStore` keeps one JSON file per asset id with atomic writes (core/atomic_file.py); a
partial commissioning is stored too, so it resumes after a restart or on an inspection robot's
next visit (`save_progress`: every SAVE_EVERY_FRACTION of the required duration, not every
window). Asset ids are file names: one asset's data never enters another's file.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pm_monitor.core.atomic_file import write_text_atomic

FORMAT_VERSION = 1
MAD_TO_SIGMA = 1.4826
# Smallest spread of a log feature (natural log units, i.e. ~3 %): a feature that did not move
# at all during commissioning must not turn every later percent into a huge z.
MIN_LOG_SPREAD = 0.03
SHRINKAGE = 0.5  # correlation shrinkage toward identity: few windows, many features
THRESHOLD_MARGIN = 1.5  # over the largest commissioning distance
# In-sample distances underestimate new healthy windows (few windows, many features): a floor of
# 3 (three robust sigmas per feature on average) keeps a short commissioning from alarming.
MIN_THRESHOLD = 3.0
# A partial reference is saved again once it has collected this fraction of its required
# duration since its last save (and when complete). Each save rewrites the whole file, whose
# size grows with the windows collected: saving every window writes O(windows^2) bytes (an hour
# of 1 s windows: gigabytes, and tens of ms per window at the end). A crash loses at most this
# fraction of the commissioning.
SAVE_EVERY_FRACTION = 0.05
_ASSET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def default_reference_dir() -> Path:
    """$ROS_HOME/pm_monitor/references (~/.ros when ROS_HOME is unset), as the alert log."""
    home = Path(os.environ.get("ROS_HOME") or Path.home() / ".ros")
    return home / "pm_monitor" / "references"


def check_asset_id(asset_id: str) -> str:
    if not isinstance(asset_id, str) or not _ASSET_ID.match(asset_id) or asset_id.startswith("."):
        raise ValueError(f"asset id {asset_id!r} must be 1-64 of A-Z a-z 0-9 _ . - "
                         "(it names the reference file)")
    return asset_id


@dataclass
class Reference:
    """The healthy reference of one asset (complete or in progress)."""

    asset_id: str
    rate_hz: float
    axes: list[str]
    feature_names: list[str]
    required_s: float
    rows: list[list[float]] = field(default_factory=list)  # flattened features per window
    window_s: list[float] = field(default_factory=list)  # duration of each window
    line_snr: dict[str, list[list[float]]] = field(default_factory=dict)  # key -> per window
    complete: bool = False
    # filled by finish():
    median: list[float] = field(default_factory=list)
    spread: list[float] = field(default_factory=list)
    precision: list[list[float]] = field(default_factory=list)
    threshold: float = 0.0
    line_snr_median: dict[str, list[float]] = field(default_factory=dict)
    velocity_mm_s: float = float("nan")
    version: int = FORMAT_VERSION

    @property
    def collected_s(self) -> float:
        return float(sum(self.window_s))

    @property
    def progress(self) -> float:
        return 1.0 if self.complete else min(self.collected_s / max(self.required_s, 1e-9), 1.0)

    def level(self, axis: str, name: str) -> float:
        """Median of a feature (linear units) during commissioning."""
        i = self.axes.index(axis) * len(self.feature_names) + self.feature_names.index(name)
        return float(np.exp(self.median[i]))


def _log(values: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(values, dtype=np.float64), 1e-12))


class ReferenceBuilder:
    """Adds windows to a Reference until `required_s` of data is in, then fits it."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    @classmethod
    def new(cls, asset_id: str, rate_hz: float, axes: list[str], feature_names: list[str],
            required_s: float) -> ReferenceBuilder:
        return cls(Reference(check_asset_id(asset_id), float(rate_hz), list(axes),
                             list(feature_names), float(required_s)))

    def compatible(self, rate_hz: float, axes: list[str], feature_names: list[str]) -> str:
        """Why a window cannot join this reference ('' when it can)."""
        ref = self.reference
        if abs(rate_hz - ref.rate_hz) > 1e-6 * ref.rate_hz:
            return f"rate {rate_hz} Hz differs from the reference's {ref.rate_hz} Hz"
        if list(axes) != ref.axes or list(feature_names) != ref.feature_names:
            return f"axes {list(axes)} differ from the reference's {ref.axes}"
        return ""

    def add(self, features: np.ndarray, duration_s: float,
            line_snr: dict[str, list[float]] | None = None) -> bool:
        """Add one window's (n_axes, n_features) features; True when commissioning completed."""
        ref = self.reference
        if ref.complete:
            return False
        row = np.asarray(features, dtype=np.float64).ravel()
        if row.size != len(ref.axes) * len(ref.feature_names) or not np.isfinite(row).all():
            return False  # a bad window does not enter the reference (the caller logs it)
        ref.rows.append(row.tolist())
        ref.window_s.append(float(duration_s))
        for key, values in (line_snr or {}).items():
            ref.line_snr.setdefault(key, []).append([float(v) for v in values])
        if ref.collected_s >= ref.required_s and len(ref.rows) >= 5:
            self.finish()
            return True
        return False

    def finish(self) -> Reference:
        ref = self.reference
        x = _log(np.asarray(ref.rows))
        med = np.median(x, axis=0)
        spread = np.maximum(MAD_TO_SIGMA * np.median(np.abs(x - med), axis=0), MIN_LOG_SPREAD)
        z = np.clip((x - med) / spread, -5.0, 5.0)
        corr = np.corrcoef(z, rowvar=False) if len(z) > 2 else np.eye(z.shape[1])
        corr = np.nan_to_num(corr, nan=0.0)
        corr = (1.0 - SHRINKAGE) * corr + SHRINKAGE * np.eye(z.shape[1])
        precision = np.linalg.inv(corr)
        ref.median, ref.spread, ref.precision = med.tolist(), spread.tolist(), precision.tolist()
        ref.complete = True
        distances = [anomaly_distance(ref, row) for row in np.asarray(ref.rows)]
        ref.threshold = float(max(THRESHOLD_MARGIN * max(distances), MIN_THRESHOLD))
        ref.line_snr_median = {k: _nanmedian_or_one(v) for k, v in ref.line_snr.items() if v}
        vel_i = [a * len(ref.feature_names) + ref.feature_names.index("velocity_rms_mm_s")
                 for a in range(len(ref.axes))] if "velocity_rms_mm_s" in ref.feature_names else []
        ref.velocity_mm_s = float(np.max(np.exp(med[vel_i]))) if vel_i else float("nan")
        return ref


def _nanmedian_or_one(rows: list[list[float]]) -> list[float]:
    """Per-harmonic median of the line ratios; 1 where a line was never evidence (nan)."""
    values = np.asarray(rows, dtype=float)
    out = np.ones(values.shape[1])
    seen = np.isfinite(values).any(axis=0)
    out[seen] = np.nanmedian(values[:, seen], axis=0)
    return out.tolist()


def robust_z(ref: Reference, features: np.ndarray) -> np.ndarray:
    """(log feature - reference median) / reference spread, flattened axis-major."""
    row = _log(np.asarray(features, dtype=np.float64).ravel())
    return (row - np.asarray(ref.median)) / np.asarray(ref.spread)


def anomaly_distance(ref: Reference, features: np.ndarray) -> float:
    """Robust Mahalanobis distance of a window's features from the reference, per feature
    (sqrt(d^2 / n_features)), so the number means the same for 1 axis or 6."""
    z = robust_z(ref, features)
    d2 = float(z @ np.asarray(ref.precision) @ z)
    return float(np.sqrt(max(d2, 0.0) / z.size))


class ReferenceStore:
    """One JSON file per asset under `root`; atomic writes; partial references resume.
    A sensor's own reference beside the vibration one (the microphone's) lives in a
    sub-folder named after it (`part`): asset ids hold no '/', so parts never collide."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._saved_s: dict[str, float] = {}  # asset id -> collected_s at its last save here

    def part(self, name: str) -> ReferenceStore:
        """The store of one part (e.g. "acoustic") of every asset's reference."""
        return ReferenceStore(self.root / check_asset_id(name))

    def path(self, asset_id: str) -> Path:
        return self.root / f"{check_asset_id(asset_id)}.reference.json"

    def load(self, asset_id: str) -> Reference | None:
        path = self.path(asset_id)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        if data.get("version") != FORMAT_VERSION or data.get("asset_id") != asset_id:
            raise ValueError(f"{path}: not a version-{FORMAT_VERSION} reference of {asset_id!r}")
        return Reference(**data)

    def save(self, reference: Reference) -> Path:
        path = write_text_atomic(self.path(reference.asset_id),
                                 json.dumps(asdict(reference), allow_nan=True))
        self._saved_s[reference.asset_id] = reference.collected_s
        return path

    def save_progress(self, reference: Reference) -> Path | None:
        """Save a reference during commissioning: when it is complete, the first time this
        store sees it, or once it collected SAVE_EVERY_FRACTION of its required seconds since
        its last save here. Returns the path when it wrote."""
        last = self._saved_s.get(reference.asset_id)
        step = SAVE_EVERY_FRACTION * reference.required_s
        if not reference.complete and last is not None and reference.collected_s - last < step:
            return None
        return self.save(reference)

    def reset(self, asset_id: str) -> None:
        """Forget an asset's reference (after maintenance: commissioning starts again)."""
        self.path(asset_id).unlink(missing_ok=True)
        self._saved_s.pop(asset_id, None)
