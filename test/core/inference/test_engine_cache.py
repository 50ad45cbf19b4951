"""TensorRT engine cache: key, integrity checks, rebuild and fallback (no tensorrt needed)."""
from dataclasses import fields, replace

import pytest

from pm_monitor.core.inference.engine_cache import (
    EngineBuildError,
    EngineCache,
    EngineKey,
    obtain_engine,
)

KEY = EngineKey(onnx_sha256="a" * 64, tensorrt_version="10.3.0", gpu_name="NVIDIA H200",
                precision="fp16", profile='{"opt": [1, 8, 34]}', calibration_sha256="")
GOOD_ENGINE = b"serialised-engine-bytes"


class FakeRuntime:
    """Deserialises only what FakeBuilder produced, like TensorRT refusing foreign bytes."""

    def __init__(self) -> None:
        self.calls = 0

    def deserialize(self, data: bytes) -> object | None:
        self.calls += 1
        return ("engine", data) if data == GOOD_ENGINE else None


class FakeBuilder:
    def __init__(self, fail: bool = False) -> None:
        self.builds = 0
        self.fail = fail

    def __call__(self) -> bytes:
        self.builds += 1
        if self.fail:
            raise RuntimeError("parser error: unsupported op")
        return GOOD_ENGINE


@pytest.mark.parametrize("field", [f.name for f in fields(EngineKey)])
def test_key_changes_when_any_input_changes(field):
    changed = replace(KEY, **{field: getattr(KEY, field) + "x"})
    assert changed.digest() != KEY.digest()
    assert EngineCache("/tmp/c").path("stage1", changed) != EngineCache("/tmp/c").path(
        "stage1", KEY)


def test_first_call_builds_and_caches_then_loads(tmp_path):
    cache, runtime, builder = EngineCache(tmp_path), FakeRuntime(), FakeBuilder()
    engine, how = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    assert engine == ("engine", GOOD_ENGINE) and "built" in how and builder.builds == 1
    assert cache.load("stage1", KEY) == (GOOD_ENGINE, "")
    engine, how = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    assert "loaded cached engine" in how and builder.builds == 1


def test_force_update_rebuilds(tmp_path):
    cache, runtime, builder = EngineCache(tmp_path), FakeRuntime(), FakeBuilder()
    obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    _, how = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize, force_update=True)
    assert builder.builds == 2 and "force_engine_update" in how


def test_broken_engine_file_is_detected_and_rebuilt(tmp_path, caplog):
    cache, runtime, builder = EngineCache(tmp_path), FakeRuntime(), FakeBuilder()
    obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    cache.path("stage1", KEY).write_bytes(b"\x00broken")  # e.g. a half-written copy
    data, reason = cache.load("stage1", KEY)
    assert data is None and "SHA-256" in reason
    engine, how = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    assert engine == ("engine", GOOD_ENGINE) and builder.builds == 2
    assert "SHA-256" in how


def test_engine_the_runtime_refuses_is_rebuilt(tmp_path, caplog):
    """Intact file (hash matches) that TensorRT will not deserialise, e.g. another version."""
    cache, runtime, builder = EngineCache(tmp_path), FakeRuntime(), FakeBuilder()
    cache.store("stage1", KEY, b"engine from another TensorRT")
    with caplog.at_level("WARNING", logger="pm_monitor.inference"):
        engine, _ = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    assert engine == ("engine", GOOD_ENGINE) and builder.builds == 1
    assert "unusable" in caplog.text


def test_build_failure_is_a_clear_engine_build_error(tmp_path):
    cache, runtime = EngineCache(tmp_path), FakeRuntime()
    cache.store("stage1", KEY, b"broken")
    with pytest.raises(EngineBuildError, match=r"building the TensorRT engine failed.*parser"):
        obtain_engine("stage1", KEY, cache, FakeBuilder(fail=True), runtime.deserialize)


def test_sidecar_of_another_key_is_not_trusted(tmp_path):
    cache = EngineCache(tmp_path)
    cache.store("stage1", KEY, GOOD_ENGINE)
    other = replace(KEY, precision="int8")
    cache.path("stage1", other).parent.mkdir(parents=True, exist_ok=True)
    cache.path("stage1", other).write_bytes(GOOD_ENGINE)
    cache.path("stage1", other).with_suffix(".json").write_text(
        cache.path("stage1", KEY).with_suffix(".json").read_text())
    data, reason = cache.load("stage1", other)
    assert data is None and "another key" in reason


def test_engine_that_cannot_be_cached_is_still_used(tmp_path):
    blocked = tmp_path / "cache"
    blocked.mkdir()
    (blocked / "engines").write_text("a file where the engines folder should be")
    cache, runtime, builder = EngineCache(blocked), FakeRuntime(), FakeBuilder()
    engine, how = obtain_engine("stage1", KEY, cache, builder, runtime.deserialize)
    assert engine == ("engine", GOOD_ENGINE) and "not cached" in how
