"""The TensorRT build sequence against a recording fake of the tensorrt module (no GPU here):
profiles from the spec's dim ranges, precision handling per TensorRT major version, parser
errors, progress bars. What TensorRT itself then does is checked by benchmarks/gpu_check.sh."""
from types import SimpleNamespace

import numpy as np
import pytest

from pm_monitor.core.inference.engine_cache import EngineBuildError
from pm_monitor.core.inference.specs import stage1_spec, thermal_spec
from pm_monitor.core.inference.tensorrt_runner import (
    _progress_monitor,
    build_serialized_engine,
    engine_key,
)


class FakeProfile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, low, opt, high):
        self.shapes[name] = (tuple(low), tuple(opt), tuple(high))


class FakeConfig:
    def __init__(self):
        self.flags, self.profiles = set(), []
        self.calibration_profile = self.int8_calibrator = self.progress_monitor = None
        self.pool_limits = {}

    def set_memory_pool_limit(self, pool, size):
        self.pool_limits[pool] = size

    def set_flag(self, flag):
        self.flags.add(flag)

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)

    def set_calibration_profile(self, profile):
        self.calibration_profile = profile


def fake_tensorrt(version: str, parse_ok: bool = True):
    recorded = SimpleNamespace(config=None, network_flags=None, parsed=None)

    class Builder:
        def __init__(self, logger):
            self.logger = logger

        def create_network(self, flags):
            recorded.network_flags = flags
            return "network"

        def create_builder_config(self):
            recorded.config = FakeConfig()
            return recorded.config

        def create_optimization_profile(self):
            return FakeProfile()

        def build_serialized_network(self, network, config):
            return b"serialised engine"

    class OnnxParser:
        num_errors = 0 if parse_ok else 1

        def __init__(self, network, logger):
            self.network = network

        def parse_from_file(self, path):
            recorded.parsed = path
            return parse_ok

        def get_error(self, index):
            return "In node 7 (LSTM): unsupported attribute"

    class Base:
        def __init__(self):
            pass

    trt = SimpleNamespace(
        __version__=version, Builder=Builder, OnnxParser=OnnxParser,
        MemoryPoolType=SimpleNamespace(WORKSPACE="workspace"),
        BuilderFlag=SimpleNamespace(FP16="FP16", INT8="INT8"),
        NetworkDefinitionCreationFlag=SimpleNamespace(EXPLICIT_BATCH=0),
        IInt8EntropyCalibrator2=Base, IProgressMonitor=Base,
    )
    return trt, recorded


SPEC = stage1_spec(8, 34)


def test_tensorrt10_fp16_build_sets_profile_flag_and_progress(tmp_path):
    trt, recorded = fake_tensorrt("10.16.1.11")
    onnx_file = tmp_path / "stage1.onnx"
    data = build_serialized_engine(trt, "logger", onnx_file, SPEC, "fp16")
    assert data == b"serialised engine" and recorded.parsed == str(onnx_file)
    config = recorded.config
    assert config.flags == {"FP16"} and config.pool_limits["workspace"] > 0
    assert config.profiles[0].shapes == {"sequence": ((1, 8, 34), (1, 8, 34), (32, 8, 34))}
    assert config.progress_monitor is not None and config.int8_calibrator is None


def test_thermal_profile_covers_frame_sizes():
    trt, recorded = fake_tensorrt("10.3.0")
    build_serialized_engine(trt, "logger", "thermal.onnx", thermal_spec(), "fp32")
    low, opt, high = recorded.config.profiles[0].shapes["image"]
    assert low == (1, 1, 32, 32) and opt == (1, 1, 120, 160) and high == (32, 1, 480, 640)
    assert recorded.config.flags == set()


def test_tensorrt10_int8_uses_a_calibrator_on_real_batches():
    trt, recorded = fake_tensorrt("10.16.1.11")
    batches = [{"sequence": np.zeros((8, 8, 34), np.float32)} for _ in range(3)]
    build_serialized_engine(trt, "logger", "stage1.onnx", SPEC, "int8", batches)
    config = recorded.config
    assert config.flags == {"FP16", "INT8"}
    assert config.calibration_profile.shapes["sequence"] == ((8, 8, 34),) * 3
    assert config.int8_calibrator.get_batch_size() == 8


def test_tensorrt11_has_no_precision_flags_and_needs_modelopt_for_fp16(monkeypatch):
    trt, recorded = fake_tensorrt("11.4.0.106")
    build_serialized_engine(trt, "logger", "stage1.onnx", SPEC, "fp32")
    assert recorded.config.flags == set()
    monkeypatch.setitem(__import__("sys").modules, "modelopt", None)  # not installed
    with pytest.raises(EngineBuildError, match="nvidia-modelopt"):
        build_serialized_engine(trt, "logger", "stage1.onnx", SPEC, "fp16")


def test_tensorrt8_asks_for_explicit_batch():
    trt, recorded = fake_tensorrt("8.6.1")
    trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH = 0
    build_serialized_engine(trt, "logger", "stage1.onnx", SPEC, "fp16")
    assert recorded.network_flags == 1


def test_parser_errors_are_reported():
    trt, _ = fake_tensorrt("10.16.1.11", parse_ok=False)
    with pytest.raises(EngineBuildError, match=r"cannot parse.*unsupported attribute"):
        build_serialized_engine(trt, "logger", "stage1.onnx", SPEC, "fp16")


def test_progress_monitor_follows_phases():
    trt, _ = fake_tensorrt("10.16.1.11")
    monitor = _progress_monitor(trt, "stage1")
    monitor.phase_start("Building engine", None, 4)
    for step in range(4):
        assert monitor.step_complete("Building engine", step) is True
    monitor.phase_finish("Building engine")
    assert monitor.step_complete("unknown phase", 0) is True  # never aborts the build
    assert _progress_monitor(SimpleNamespace(), "stage1") is None  # TensorRT < 10


def test_engine_key_hashes_calibration_data_only_for_int8(tmp_path):
    onnx_file = tmp_path / "stage1.onnx"
    onnx_file.write_bytes(b"graph")
    batches = [{"sequence": np.ones((8, 8, 34), np.float32)}]
    fp16 = engine_key(SPEC, onnx_file, "10.16", "GPU", "fp16", batches)
    int8 = engine_key(SPEC, onnx_file, "10.16", "GPU", "int8", batches)
    other = engine_key(SPEC, onnx_file, "10.16", "GPU", "int8",
                       [{"sequence": np.zeros((8, 8, 34), np.float32)}])
    assert fp16.calibration_sha256 == "" and int8.calibration_sha256
    assert int8.digest() != other.digest()
    onnx_file.write_bytes(b"another graph")
    assert engine_key(SPEC, onnx_file, "10.16", "GPU", "fp16").digest() != fp16.digest()
