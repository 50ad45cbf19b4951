"""MIMII machine sounds (small subset): 10 s mono 16 kHz FLAC clips, normal and anomalous.

See ``shared/data/machine_sound/README.md``. Facts this loader encodes:
- the clip is the recording; evaluate per machine id (loudness alone separates some ids, in
  opposite directions), train on ``split == "train"`` normal clips only;
- samples are digital full scale (int16 / 32768, in [-1, 1)): the microphones are not
  calibrated, so there is no pascal value (``UNIT``);
- most clips are mixed with factory noise at 0 dB; ten pump id_02 anomalies are +6 dB
  (``snr_db``; ``snr_inferred`` marks values the README infers rather than reads);
- only channel 0 of MIMII's 8-microphone array is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from pm_monitor.datasets.paths import DataNotFoundError, dataset_folder, read_csv_rows

SAMPLE_RATE_HZ = 16000
UNIT = "FS"  # digital full scale: 1.0 = the int16 range, no acoustic calibration


@dataclass(frozen=True)
class SoundClip:
    file: str  # relative to the data set folder, e.g. "fan/id_00/normal/00000000.flac"
    machine_type: str  # fan, pump, slider, valve
    machine_id: str  # id_00 ...
    label: str  # "normal" or "anomaly"
    split: str  # suggested split: "train" (normal only) or "test"
    snr_db: float
    snr_inferred: bool

    @property
    def record_id(self) -> str:
        return f"machine_sound/{self.file}"

    @property
    def machine(self) -> str:
        return f"{self.machine_type}/{self.machine_id}"


def _root(root: Path | None) -> Path:
    return dataset_folder("machine_sound", root)


def list_clips(root: Path | None = None) -> list[SoundClip]:
    """Every clip, ordered by machine type, machine id, normal before anomaly, file."""
    rows = read_csv_rows(_root(root) / "labels.csv", "machine_sound labels")
    clips = [SoundClip(file=r["file"], machine_type=r["machine_type"],
                       machine_id=r["machine_id"], label=r["label"], split=r["split"],
                       snr_db=float(r["snr_db"].split()[0]),
                       snr_inferred="inferred" in r["snr_db"])
             for r in rows]
    clips.sort(key=lambda c: (c.machine_type, c.machine_id, c.label != "normal", c.file))
    return clips


def _clip_path(clip: SoundClip, root: Path | None) -> Path:
    path = _root(root) / clip.file
    if not path.is_file():
        raise DataNotFoundError(f"machine_sound clip {path} not found")
    return path


def clip_length(clip: SoundClip, root: Path | None = None) -> int:
    """Number of samples of a clip, from the FLAC header (nothing decoded)."""
    return int(soundfile.info(_clip_path(clip, root)).frames)


def load_clip(clip: SoundClip, root: Path | None = None) -> np.ndarray:
    """(n,) float32 samples in full scale (exactly int16 / 32768); checks rate and channels."""
    path = _clip_path(clip, root)
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE_HZ or samples.shape[1] != 1:
        raise ValueError(f"{clip.file}: expected mono {SAMPLE_RATE_HZ} Hz, got "
                         f"{samples.shape[1]} channel(s) at {rate} Hz")
    return samples[:, 0]
