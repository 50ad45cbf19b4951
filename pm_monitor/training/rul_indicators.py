"""FEMTO bearings -> per-snapshot health indicators, cached on disk (one npz per bearing).

The cache lives under results/tmp/rul_indicators/ (gitignored), keyed by a hash of the
IndicatorConfig so a changed setting never reads stale values."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pm_monitor.core.rul.indicators import INDICATOR_NAMES, IndicatorConfig, snapshot_indicators
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
    indicators: np.ndarray  # (n, len(INDICATOR_NAMES)) physical units
    life_s: float  # end of record = failure time
    truncation_pos: int | None
    official_rul_s: float | None

    @property
    def n(self) -> int:
        return int(self.t_s.size)

    def indicator(self, name: str) -> np.ndarray:
        return self.indicators[:, INDICATOR_NAMES.index(name)]


def _key(config: IndicatorConfig) -> str:
    return hashlib.sha1(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:10]


def load_records(names: tuple[str, ...] | list[str],
                 config: IndicatorConfig | None = None, cache_dir: Path = CACHE_DIR,
                 verbose: bool = True) -> dict[str, BearingRecord]:
    config = config or IndicatorConfig()
    cache_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, BearingRecord] = {}
    for name in names:
        path = cache_dir / f"{name}_{_key(config)}.npz"
        bearing = load_bearing(name)
        if not path.is_file():
            if verbose:
                print(f"indicators: computing {name} ({bearing.n_snapshots} snapshots)",
                      flush=True)
            acc = bearing.acc_g
            values = np.stack([snapshot_indicators(s[:, HORIZONTAL], s[:, VERTICAL], bearing.fs,
                                                   config) for s in acc])
            np.savez(path, indicators=values)
        with np.load(path) as z:
            values = z["indicators"]
        trunc = None
        if bearing.truncation_index is not None:
            trunc = int(np.flatnonzero(bearing.snapshot_index == bearing.truncation_index)[0])
        out[name] = BearingRecord(
            name=name, condition=bearing.condition, rpm=float(bearing.rpm),
            load_n=float(bearing.load_n), split=bearing.split, t_s=bearing.t_s,
            indicators=values, life_s=bearing.life_s, truncation_pos=trunc,
            official_rul_s=bearing.actual_rul_s)
    return out


if __name__ == "__main__":
    from pm_monitor.datasets.femto import ALL_BEARINGS
    load_records(ALL_BEARINGS)
