"""Trained weights on disk: a torch state_dict file plus a metadata JSON beside it.

``save_weights(model, "models/cwru/stage1.pt", metadata)`` writes ``stage1.pt`` and
``stage1.json`` (data, split, metrics, date, code version, feature configuration, the model's
constructor arguments and the weights' SHA-256). ``load_weights`` checks all of it and raises
``ModelLoadError`` naming the file for anything missing, corrupt or mismatched: a bad file is a
clear error, never a traceback deep inside torch. Loading uses ``weights_only=True``: a weights
file is data, never code to run.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pm_monitor.core.models.bundle import ModelLoadError, load_state_dict_file, read_json_file

METADATA_SUFFIX = ".json"
REQUIRED_METADATA = ("model", "hyperparameters", "data", "split", "metrics", "created",
                     "code_version", "sha256")


def metadata_path(weights_path: Path | str) -> Path:
    return Path(weights_path).with_suffix(METADATA_SUFFIX)


def code_version() -> str:
    """`git describe` of the source tree, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def release_version(code_version: str) -> str:
    """The code version a user sees beside a released model: the commit, without git's
    "-dirty" mark (the model file's own metadata keeps the full string as provenance; every
    released file is identified by its sha256 anyway)."""
    return code_version.removesuffix("-dirty")


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(model: nn.Module, weights_path: Path | str, *, model_name: str,
                 hyperparameters: dict[str, Any], data: str, split: str,
                 metrics: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write the state_dict and its metadata; returns the metadata path.

    hyperparameters: the model's constructor keyword arguments (load_weights rebuilds it);
    data / split: what it was trained on and how the data were split (human-readable);
    metrics: the held-out numbers measured for it; extra: e.g. feature configuration,
    normalisation statistics, class names."""
    path = Path(weights_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    metadata = {
        "model": model_name,
        "hyperparameters": hyperparameters,
        "data": data,
        "split": split,
        "metrics": metrics,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "sha256": sha256_of(path),
        **(extra or {}),
    }
    meta_path = metadata_path(path)
    meta_path.write_text(json.dumps(metadata, indent=1, default=jsonable) + "\n")
    return meta_path


def read_metadata(weights_path: Path | str) -> dict[str, Any]:
    """The metadata JSON of a weights file; ModelLoadError if missing or malformed."""
    meta_path = metadata_path(weights_path)
    meta = read_json_file(meta_path, "metadata file not found")
    missing = [key for key in REQUIRED_METADATA if key not in meta]
    if missing:
        raise ModelLoadError(meta_path, f"metadata lacks {', '.join(missing)}")
    return meta


def load_weights(factory: Callable[..., nn.Module], weights_path: Path | str,
                 expected_model: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model with factory(**hyperparameters) and load its weights (eval mode).

    Raises ModelLoadError naming the file when it is missing, altered (SHA-256), not a
    state_dict, or does not fit the model."""
    path = Path(weights_path)
    meta = read_metadata(path)
    if expected_model is not None and meta["model"] != expected_model:
        raise ModelLoadError(path, f"holds a {meta['model']!r} model, not {expected_model!r}")
    if not path.is_file():
        raise ModelLoadError(path, "file not found")
    if sha256_of(path) != meta["sha256"]:
        raise ModelLoadError(path, "SHA-256 differs from its metadata (altered or corrupt)")
    try:
        model = factory(**meta["hyperparameters"])
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(metadata_path(path), f"hyperparameters do not fit ({exc})") from None
    load_state_dict_file(model, path)
    return model.eval(), meta


def jsonable(value: Any) -> Any:
    """json.dumps default for metadata and results: arrays and numpy scalars as lists /
    numbers, paths as strings."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
