"""FEMTO bearings -> per-snapshot health indicators, cached on disk (one npz per bearing).

The indicators are the any-machine features (core/condition/features.py through
core/rul/onset.snapshot_indicators). The cache lives under results/tmp/rul_indicators/
(gitignored), keyed by a hash of the indicator names and of the sources of
core/condition/features.py and core/features/vibration.py, so a changed feature never reads
stale values."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pm_monitor.core.condition import features
from pm_monitor.core.features import vibration
from pm_monitor.core.rul.onset import indicator_names, snapshot_indicators
from pm_monitor.datasets.femto import HORIZONTAL, VERTICAL, load_bearing

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "results" / "tmp" / "rul_indicators"


@dataclass(frozen=True)
class BearingRecord:
    """One run-to-failure record, as the prognostic fitting and evaluation need it."""

    name: str
    condition: int
    rpm: float
    load_n: float
    split: str
    t_s: np.ndarray  # (n,) elapsed operating time of each snapshot, s
    indicators: np.ndarray  # (n, len(names)) physical units
    names: tuple[str, ...]  # indicator_names(rate) of the record
    life_s: float  # end of record = failure time
    truncation_pos: int | None
    official_rul_s: float | None

    @property
    def n(self) -> int:
        return int(self.t_s.size)

    def indicator(self, name: str) -> np.ndarray:
        return self.indicators[:, self.names.index(name)]


def _key(names: tuple[str, ...]) -> str:
    source = b"".join(Path(m.__file__).read_bytes() for m in (features, vibration))
    return hashlib.sha1(json.dumps(names).encode() + source).hexdigest()[:10]


def load_records(names: tuple[str, ...] | list[str], cache_dir: Path = CACHE_DIR,
                 verbose: bool = True) -> dict[str, BearingRecord]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, BearingRecord] = {}
    for name in names:
        bearing = load_bearing(name)
        columns = indicator_names(bearing.fs)
        path = cache_dir / f"{name}_{_key(columns)}.npz"
        if not path.is_file():
            if verbose:
                print(f"indicators: computing {name} ({bearing.n_snapshots} snapshots)",
                      flush=True)
            acc = bearing.acc_g
            values = np.stack([snapshot_indicators(s[:, HORIZONTAL], s[:, VERTICAL], bearing.fs)
                               for s in acc])
            np.savez(path, indicators=values)
        with np.load(path) as z:
            values = z["indicators"]
        trunc = None
        if bearing.truncation_index is not None:
            trunc = int(np.flatnonzero(bearing.snapshot_index == bearing.truncation_index)[0])
        out[name] = BearingRecord(
            name=name, condition=bearing.condition, rpm=float(bearing.rpm),
            load_n=float(bearing.load_n), split=bearing.split, t_s=bearing.t_s,
            indicators=values, names=columns, life_s=bearing.life_s, truncation_pos=trunc,
            official_rul_s=bearing.actual_rul_s)
    return out


if __name__ == "__main__":
    from pm_monitor.datasets.femto import ALL_BEARINGS
    load_records(ALL_BEARINGS)
