"""On-disk cache of TensorRT engines (no tensorrt import: the logic is testable anywhere).

An engine only fits the exact graph, TensorRT version, GPU and precision it was built for, so
those (plus the optimisation profile, and the calibration data for INT8) form the key; the file
name carries the key's digest. A sidecar records the key and the engine's SHA-256, so a broken,
truncated or foreign file is rebuilt instead of crashing the deserialiser.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

LOG = logging.getLogger("pm_monitor.inference")
Engine = TypeVar("Engine")


class EngineBuildError(RuntimeError):
    """No usable engine: building or deserialising failed; the message says why."""


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    precision: str  # fp32 | fp16 | int8
    profile: str = ""  # optimisation profile shapes, as text
    calibration_sha256: str = ""  # INT8 only: hash of the calibration inputs

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


class EngineCache:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory) / "engines"

    def path(self, name: str, key: EngineKey) -> Path:
        return self.directory / f"{name}-{key.precision}-{key.digest()[:20]}.engine"

    def load(self, name: str, key: EngineKey) -> tuple[bytes | None, str]:
        """(engine bytes, "") for a valid entry, else (None, why not)."""
        path = self.path(name, key)
        sidecar = path.with_suffix(".json")
        if not path.is_file():
            return None, "no cached engine"
        try:
            meta = json.loads(sidecar.read_text())
            data = path.read_bytes()
        except (OSError, json.JSONDecodeError) as exc:
            return None, f"unreadable cache entry ({exc})"
        if not isinstance(meta, dict) or meta.get("key") != asdict(key):
            return None, "cache entry was written for another key"
        if meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return None, "engine file does not match its recorded SHA-256 (broken or truncated)"
        return data, ""

    def store(self, name: str, key: EngineKey, data: bytes) -> Path:
        path = self.path(name, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".engine", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
        meta = {"key": asdict(key), "sha256": hashlib.sha256(data).hexdigest()}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
        return path


def obtain_engine(
    name: str,
    key: EngineKey,
    cache: EngineCache,
    build: Callable[[], bytes],
    deserialize: Callable[[bytes], Engine | None],
    force_update: bool = False,
) -> tuple[Engine, str]:
    """A deserialised engine from the cache, else freshly built (and cached).

    Returns (engine, how it was obtained). A cached entry that is broken or that TensorRT
    refuses is rebuilt; raises EngineBuildError only when building itself fails.
    """
    if force_update:
        reason = "force_engine_update is set"
    else:
        data, reason = cache.load(name, key)
        if data is not None:
            try:
                engine = deserialize(data)
            except Exception as exc:  # the runtime raises its own types; treat all as unusable
                engine, reason = None, f"deserialising failed ({exc})"
            if engine is not None:
                return engine, f"loaded cached engine {cache.path(name, key)}"
            reason = reason or "TensorRT could not deserialise the cached engine"
            LOG.warning("%s: cached engine %s unusable: %s; rebuilding",
                        name, cache.path(name, key), reason)
    try:
        data = build()
    except EngineBuildError:
        raise
    except Exception as exc:  # builder errors come in many types; report them the same way
        raise EngineBuildError(f"{name}: building the TensorRT engine failed: {exc}") from exc
    engine = deserialize(data)
    if engine is None:
        raise EngineBuildError(f"{name}: TensorRT could not deserialise the engine it just built")
    try:
        path = cache.store(name, key, data)
    except OSError as exc:  # the engine works; only the next start will have to build again
        LOG.warning("%s: could not cache the engine (%s); it is rebuilt on every start",
                    name, exc)
        return engine, f"built engine ({reason}); not cached: {exc}"
    return engine, f"built engine ({reason}) and cached it at {path}"
