"""CWRU seeded bearing faults, 12 kHz drive-end set (``cwru_12k_de.npz``).

See ``shared/data/cwru/README.md``. Facts this loader encodes:
- the record is the unit of splitting (one record = one class at one load);
- values are accelerations in g (CWRU does not say; g is the usual reading);
- NORMAL records (97, 98, 100) are 48 kHz originals; their 12 kHz copies (``DE12k_*``,
  ``FE12k_97``) are derived (FIR anti-aliased, decimated by 4). ``load_record`` returns 12 kHz
  by default so rates are never mixed silently; ``rate_hz=48000`` gives the originals;
- record 99 (NORMAL, 2 hp) is missing; 98 and 100 have the drive-end channel only;
- fault records have DE, FE and BA; NORMAL records have no BA.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pm_monitor.datasets.paths import DataNotFoundError, dataset_dir

FILE_NAME = "cwru_12k_de.npz"
RATE_12K_HZ = 12000
CHANNELS = ("DE", "FE", "BA")  # drive end, fan end, base plate
UNIT = "g"


@dataclass(frozen=True)
class CwruRecord:
    """Metadata of one record (one class at one motor load)."""

    record: int  # CWRU file number, e.g. 105
    label: str  # NORMAL, B007, ..., OR021@6
    label_id: int  # 0..9, index into CLASS_NAMES order of the archive
    load_hp: int
    rpm: int  # measured speed from the file (nominal for 98 and 100, see README)
    native_rate_hz: int  # 12000 for faults, 48000 for NORMAL
    native_samples: int
    channels: tuple[str, ...]  # channels present at the native rate

    @property
    def record_id(self) -> str:
        return f"cwru/{self.record}"

    def channels_at(self, rate_hz: int) -> tuple[str, ...]:
        """Channels available at ``rate_hz`` (the derived 12 kHz NORMAL copies lack some)."""
        if rate_hz == self.native_rate_hz:
            return self.channels
        if rate_hz == RATE_12K_HZ and self.native_rate_hz == 4 * RATE_12K_HZ:
            return tuple(c for c in self.channels if c in _DERIVED_12K.get(self.record, ()))
        return ()


# Derived 12 kHz copies present in the archive (README, "Keys").
_DERIVED_12K = {97: ("DE", "FE"), 98: ("DE",), 100: ("DE",)}


@dataclass(frozen=True)
class CwruSignal:
    """Samples of one record: (n, len(channels)) float64 in g at ``rate_hz``."""

    record: CwruRecord
    rate_hz: int
    channels: tuple[str, ...]
    samples: np.ndarray
    derived: bool  # True when the samples are the decimated 12 kHz copy, not originals

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.rate_hz


def archive_path(root: Path | None = None) -> Path:
    path = Path(root if root is not None else dataset_dir("cwru")) / FILE_NAME
    if not path.is_file():
        raise DataNotFoundError(f"CWRU archive {path} not found")
    return path


def list_records(root: Path | None = None) -> list[CwruRecord]:
    """Every record in the archive, in the archive's order (only metadata is decompressed)."""
    with np.load(archive_path(root)) as z:
        keys = set(z.files)
        return [
            CwruRecord(record=int(rec), label=str(z["label"][i]), label_id=int(z["label_id"][i]),
                       load_hp=int(z["load_hp"][i]), rpm=int(z["rpm"][i]),
                       native_rate_hz=int(z["fs"][i]), native_samples=int(z["n_samples"][i]),
                       channels=tuple(c for c in CHANNELS if f"{c}_{int(rec)}" in keys))
            for i, rec in enumerate(z["record"])]


def find_record(record: int, root: Path | None = None) -> CwruRecord:
    """Metadata of one record number; a clear error for unknown ones (e.g. the missing 99)."""
    records = {r.record: r for r in list_records(root)}
    if record not in records:
        raise DataNotFoundError(
            f"CWRU record {record} is not in the archive (available: "
            f"{', '.join(str(r) for r in sorted(records))}; 99 is missing, see README)")
    return records[record]


def load_record(record: int | CwruRecord, channels: tuple[str, ...] = ("DE",),
                rate_hz: int = RATE_12K_HZ, root: Path | None = None) -> CwruSignal:
    """Samples of ``channels`` at ``rate_hz`` (12 kHz default; 48 kHz only for NORMAL).

    Raises ValueError when a channel does not exist at that rate (rather than mixing rates or
    padding a missing channel)."""
    meta = record if isinstance(record, CwruRecord) else find_record(int(record), root)
    available = meta.channels_at(rate_hz)
    missing = [c for c in channels if c not in available]
    if not channels or missing:
        raise ValueError(
            f"CWRU record {meta.record} ({meta.label}) has no channel {missing or '(none asked)'} "
            f"at {rate_hz} Hz; available there: {list(available) or 'none'}")
    derived = rate_hz != meta.native_rate_hz
    prefix = "{c}12k_{r}" if derived else "{c}_{r}"
    with np.load(archive_path(root)) as z:
        columns = [z[prefix.format(c=c, r=meta.record)].astype(np.float64) for c in channels]
    return CwruSignal(meta, rate_hz, tuple(channels), np.stack(columns, axis=1), derived)
