"""FEMTO / PRONOSTIA run-to-failure bearings (IEEE PHM 2012), one ``BearingX_Y.npz`` each.

See ``shared/data/femto/README.md``. Facts this loader encodes:
- ``acc`` is in milli-g counts (``scale`` g per count); channel 0 horizontal, 1 vertical;
- snapshot times come from ``t_s`` (three long bearings are thinned: never use the position);
- end of life = the last snapshot of the record (the 20 g rule is unreliable, see README);
- Bearing1_4's official RUL disagrees with its record: ``official_rul_s`` exposes the
  challenge label, ``rul_to_end_s`` the end-of-record label used for training and evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from pm_monitor.datasets.paths import DataNotFoundError, dataset_dir

G = 9.80665  # m/s^2 per g
SAMPLE_RATE_HZ = 25600.0
SNAPSHOT_SAMPLES = 2560
SNAPSHOT_PERIOD_S = 10.0
HORIZONTAL, VERTICAL = 0, 1

LEARNING_BEARINGS = ("Bearing1_1", "Bearing1_2", "Bearing2_1", "Bearing2_2", "Bearing3_1",
                     "Bearing3_2")
TEST_FULL_BEARINGS = ("Bearing1_3", "Bearing1_4", "Bearing2_3", "Bearing2_4", "Bearing3_3")
ALL_BEARINGS = LEARNING_BEARINGS + TEST_FULL_BEARINGS


@dataclass(frozen=True)
class FemtoBearing:
    """One bearing's whole record. Arrays are read once, lazily (the npz is compressed)."""

    name: str
    path: Path
    condition: int
    rpm: int
    load_n: int
    split: str  # "learning" or "test_full"
    truncation_index: int | None  # test bearings: snapshots the challenge participants saw
    actual_rul_s: float | None  # test bearings: the challenge's official RUL at truncation

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        with np.load(self.path) as z:
            return {key: z[key] for key in z.files}

    @property
    def acc_g(self) -> np.ndarray:
        """(n, 2560, 2) float32 acceleration in g; [..., 0] horizontal, [..., 1] vertical."""
        arrays = self._arrays
        return (arrays["acc"] * float(arrays["scale"])).astype(np.float32)

    @property
    def t_s(self) -> np.ndarray:
        """(n,) time of each snapshot's first sample, s since the first snapshot."""
        return self._arrays["t_s"].astype(np.float64)

    @property
    def snapshot_index(self) -> np.ndarray:
        return self._arrays["snapshot_index"].astype(np.int64)

    @property
    def n_snapshots(self) -> int:
        return int(self._arrays["t_s"].shape[0])

    @property
    def fs(self) -> float:
        return float(self._arrays["fs"])

    @property
    def has_temperature(self) -> bool:
        return "temp_c" in self._arrays

    @property
    def temperature(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(t_s, deg C) of the RTD probe at 10 Hz, or None when the run has none."""
        if not self.has_temperature:
            return None
        return self._arrays["temp_t_s"].astype(np.float64), self._arrays["temp_c"]

    @property
    def life_s(self) -> float:
        """End of life = time of the last snapshot (see the module docstring)."""
        return float(self.t_s[-1])

    def rul_to_end_s(self) -> np.ndarray:
        """(n,) seconds from each snapshot to the end of the record (the label used here)."""
        return self.life_s - self.t_s

    def official_rul_s(self) -> np.ndarray | None:
        """(n,) RUL under the challenge's label (test bearings only; differs for Bearing1_4)."""
        if self.truncation_index is None or self.actual_rul_s is None:
            return None
        trunc = int(np.flatnonzero(self.snapshot_index == self.truncation_index)[0])
        return self.actual_rul_s + (self.t_s[trunc] - self.t_s)


def load_bearing(name: str, root: Path | None = None) -> FemtoBearing:
    """Metadata of one bearing (arrays load on first use). Raises DataNotFoundError."""
    folder = root if root is not None else dataset_dir("femto")
    path = Path(folder) / f"{name}.npz"
    if not path.is_file():
        raise DataNotFoundError(f"FEMTO bearing file {path} not found")
    with np.load(path) as z:
        split = str(z["set"])
        is_test = split == "test_full"
        return FemtoBearing(
            name=str(z["bearing"]), path=path, condition=int(z["condition"]),
            rpm=int(z["rpm"]), load_n=int(z["load_n"]), split=split,
            truncation_index=int(z["truncation_index"]) if is_test else None,
            actual_rul_s=float(z["actual_rul_s"]) if is_test else None)


def load_all(root: Path | None = None) -> list[FemtoBearing]:
    """Every bearing in the folder, learning bearings first."""
    return [load_bearing(name, root) for name in ALL_BEARINGS]
