"""ONNX export of a ModelSpec's wrapper, cached on disk by the weights' hash.

The cache file name carries a key over the weights, the spec's interface, the torch version and
EXPORT_VERSION, so new weights or a changed wrapper never reuse a stale graph. Each .onnx file
has a .json sidecar with its own SHA-256: a truncated or overwritten file is detected and
exported again instead of being handed to a backend.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from pm_monitor.core.inference.specs import ModelSpec

LOG = logging.getLogger("pm_monitor.inference")
# Bump when a wrapper's graph changes in a way the weights hash cannot see.
EXPORT_VERSION = 2  # 2: thermal CAM via wrappers.class_maps (no 1 / (h w) factor)


class ExportError(RuntimeError):
    """The model could not be exported to a valid ONNX graph; the message says why."""


@dataclass(frozen=True)
class ExportedModel:
    spec: ModelSpec
    path: Path
    key: str  # hex digest the file name is derived from
    reused: bool  # True: taken from the cache, not exported now


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(model: nn.Module) -> str:
    """Hash of every parameter and buffer (names, dtypes, shapes, values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}|{array.dtype}|{array.shape}|".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def export_key(spec: ModelSpec, model: nn.Module) -> str:
    payload = json.dumps({
        "weights": weights_sha256(model),
        "spec": spec.signature(),
        "torch": torch.__version__,
        "export_version": EXPORT_VERSION,
    }, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def onnx_path(cache_dir: Path, spec: ModelSpec, key: str) -> Path:
    return Path(cache_dir) / "onnx" / f"{spec.name}-{key[:16]}.onnx"


def export_onnx(
    spec: ModelSpec, model: nn.Module, cache_dir: Path | str, force: bool = False
) -> ExportedModel:
    """The spec's graph as an ONNX file under cache_dir/onnx; reuses a valid cached file unless
    `force`. Raises ExportError when torch cannot export or the result fails onnx.checker."""
    key = export_key(spec, model)
    path = onnx_path(Path(cache_dir), spec, key)
    if not force:
        problem = cached_onnx_problem(path, key)
        if problem is None:
            return ExportedModel(spec, path, key, reused=True)
        if path.exists():
            LOG.warning("cached ONNX %s unusable (%s); exporting again", path, problem)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _export(spec, model, path)
        _write_sidecar(path, key)
    except OSError as exc:  # read-only or full disk, cache dir path is a file, ...
        raise ExportError(f"cannot write the ONNX export to {path.parent}: {exc}") from exc
    return ExportedModel(spec, path, key, reused=False)


def cached_onnx_problem(path: Path, key: str) -> str | None:
    """None when path is a complete, valid export for `key`; else what is wrong with it."""
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        return "not in the cache"
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return f"unreadable sidecar ({exc})"
    if not isinstance(meta, dict) or meta.get("key") != key:
        return "sidecar belongs to another export"
    if meta.get("sha256") != file_sha256(path):
        return "file content does not match its recorded SHA-256 (truncated or overwritten)"
    return None


def _export(spec: ModelSpec, model: nn.Module, path: Path) -> None:
    wrapper = spec.wrap(model)
    was_training = model.training
    wrapper.eval()  # export restores this mode afterwards: eval keeps dropout off in `model`
    example = spec.example_inputs()
    args = tuple(torch.from_numpy(example[name]) for name in spec.input_names)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}-", suffix=".onnx", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter (no onnxscript here) warns about itself and about
            # LSTM batch sizes; the round-trip tests check dynamic batches instead.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, args, str(tmp), dynamo=False, input_names=list(spec.input_names),
                output_names=list(spec.outputs), dynamic_axes=spec.dynamic_axes(),
                opset_version=spec.opset, do_constant_folding=True,
            )
        onnx.checker.check_model(str(tmp))
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except OSError:
        raise
    except Exception as exc:  # torch and onnx raise many types; all mean "no usable graph"
        raise ExportError(f"exporting {spec.name} to ONNX failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        model.train(was_training)


def _write_sidecar(path: Path, key: str) -> None:
    meta = {"key": key, "sha256": file_sha256(path), "torch": torch.__version__,
            "onnx": onnx.__version__, "export_version": EXPORT_VERSION}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
