"""FEMTO bearings -> cached per-snapshot model inputs (computed once, reused by every fold).

The cache lives under results/tmp/ (gitignored), one npz per bearing, keyed by a hash of the
SnapshotConfig so a changed feature setting never reads stale inputs."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pm_monitor.datasets.femto import HORIZONTAL, VERTICAL, FemtoBearing, load_bearing
from pm_monitor.training.rul_network.snapshot import SnapshotConfig, rms, snapshot_inputs

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "results" / "tmp" / "rul_femto_cache"


@dataclass
class BearingInputs:
    """Everything the RUL evaluation needs of one bearing, per snapshot."""

    name: str
    condition: int
    split: str
    t_s: np.ndarray  # (n,) snapshot times, s since the first snapshot
    images: np.ndarray  # (n, levels, width) uint8 in {0, 1}
    features: np.ndarray  # (n, 7) float32
    rms_h: np.ndarray  # (n,) horizontal RMS, g (the baseline's health indicator)
    life_s: float  # end of record (the label used everywhere except official scores)
    truncation_pos: int | None  # test bearings: position of the challenge truncation snapshot
    official_rul_s: float | None  # test bearings: official RUL at the truncation snapshot

    @property
    def n(self) -> int:
        return int(self.t_s.size)


def config_key(config: SnapshotConfig) -> str:
    text = json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def compute_inputs(acc_g: np.ndarray, config: SnapshotConfig) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2560, 2) snapshots in g -> (images, features) arrays."""
    images, features = [], []
    for snap in acc_g:
        image, feats = snapshot_inputs(snap[:, HORIZONTAL], snap[:, VERTICAL], config)
        images.append(image)
        features.append(feats)
    return np.stack(images), np.stack(features)


def _from_bearing(bearing: FemtoBearing, config: SnapshotConfig) -> dict[str, np.ndarray]:
    acc = bearing.acc_g
    images, features = compute_inputs(acc, config)
    trunc = -1
    official = np.nan
    if bearing.truncation_index is not None:
        trunc = int(np.flatnonzero(bearing.snapshot_index == bearing.truncation_index)[0])
        official = float(bearing.actual_rul_s)
    return {"t_s": bearing.t_s, "images": np.packbits(images, axis=-1), "features": features,
            "rms_h": rms(acc[:, :, HORIZONTAL], axis=1), "life_s": bearing.life_s,
            "condition": bearing.condition, "split": bearing.split,
            "truncation_pos": trunc, "official_rul_s": official, "width": images.shape[-1]}


def load_inputs(names: tuple[str, ...] | list[str], config: SnapshotConfig,
                cache_dir: Path = CACHE_DIR) -> dict[str, BearingInputs]:
    """Cached inputs of the named bearings, computing (with progress) what is missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = config_key(config)
    out: dict[str, BearingInputs] = {}
    for name in tqdm(names, desc="snapshot inputs", unit="bearing"):
        path = cache_dir / f"{name}_{key}.npz"
        if not path.is_file():
            arrays = _from_bearing(load_bearing(name), config)
            np.savez(path, **arrays)
        with np.load(path) as z:
            width = int(z["width"])
            trunc = int(z["truncation_pos"])
            official = float(z["official_rul_s"])
            out[name] = BearingInputs(
                name=name, condition=int(z["condition"]), split=str(z["split"]),
                t_s=z["t_s"], images=np.unpackbits(z["images"], axis=-1, count=width),
                features=z["features"], rms_h=z["rms_h"], life_s=float(z["life_s"]),
                truncation_pos=trunc if trunc >= 0 else None,
                official_rul_s=official if np.isfinite(official) else None)
    return out
