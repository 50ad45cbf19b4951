"""Backend choice: requested backend, fallback chain, auto, runtime fallback, parameters."""
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.inference import (
    BACKENDS,
    INFERENCE_PARAMETERS,
    BackendUnavailableError,
    GuardedRunner,
    InferenceConfig,
    build_runner,
    cascade_specs,
    export_onnx,
)
from pm_monitor.core.inference import backend as backend_module
from pm_monitor.core.inference.engine_cache import EngineCache
from pm_monitor.core.inference.runners import (
    ORT_CPU,
    ORT_CUDA,
    ORT_TENSORRT,
    OnnxRuntimeRunner,
    TorchRunner,
    ort_provider_chain,
)
from pm_monitor.core.inference.tensorrt_runner import engine_key
from pm_monitor.training.rig_bundle_architecture import untrained_bundle


@pytest.fixture(scope="module")
def bundle():
    return untrained_bundle(seed=5)


@pytest.fixture()
def anomaly(bundle):
    return cascade_specs(bundle)["anomaly"], bundle.autoencoder


def _no_tensorrt():
    raise BackendUnavailableError("tensorrt is not installed (mocked)")


def test_torch_backend_needs_no_export(anomaly, tmp_path):
    spec, model = anomaly
    built = build_runner(spec, model, InferenceConfig(engine_cache_dir=str(tmp_path)))
    assert built.runner.backend == "torch"
    assert built.report == ["anomaly: using torch on cpu (requested)"]
    assert not any(tmp_path.iterdir())


def test_tensorrt_missing_falls_back_to_onnxruntime_and_says_why(anomaly, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr("pm_monitor.core.inference.tensorrt_runner.load_tensorrt", _no_tensorrt)
    spec, model = anomaly
    built = build_runner(spec, model,
                         InferenceConfig(backend="tensorrt", engine_cache_dir=str(tmp_path)))
    assert built.runner.backend == "onnxruntime"
    assert built.report[0] == "anomaly: tensorrt unavailable: tensorrt is not installed (mocked)"
    assert "first working fallback" in built.report[1]


class FakeTensorRT:
    """Just enough of the tensorrt module for TensorRTRunner to reach its engine cache: the
    runtime refuses every engine and the builder cannot build (as without a working GPU)."""

    __version__ = "10.0.0-fake"

    class Logger:
        WARNING = 2

        def __init__(self, level: int) -> None:
            self.level = level

    class Runtime:
        def __init__(self, logger: object) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, data: bytes) -> None:
            return None

    class Builder:
        def __init__(self, logger: object) -> None:
            raise RuntimeError("fake builder: cannot build here")


def test_broken_engine_file_falls_back_with_a_clear_message(anomaly, tmp_path, monkeypatch,
                                                            caplog):
    monkeypatch.setattr("pm_monitor.core.inference.tensorrt_runner.load_tensorrt",
                        lambda: FakeTensorRT)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake GPU")
    spec, model = anomaly
    exported = export_onnx(spec, model, tmp_path)
    key = engine_key(spec, exported.path, FakeTensorRT.__version__, "Fake GPU", "fp16")
    EngineCache(tmp_path).store(spec.name, key, b"\x00 not an engine")
    config = InferenceConfig(backend="tensorrt", engine_cache_dir=str(tmp_path))
    with caplog.at_level("WARNING", logger="pm_monitor.inference"):
        built = build_runner(spec, model, config)
    # The broken file was found under its key, refused, and a rebuild was attempted.
    assert "cached engine" in caplog.text and "unusable" in caplog.text
    assert built.runner.backend == "onnxruntime"
    line = built.report[0]
    assert line.startswith("anomaly: tensorrt unavailable:")
    assert "building the TensorRT engine failed" in line and "cannot build here" in line


def test_auto_measures_and_keeps_the_fastest(anomaly, tmp_path, monkeypatch):
    monkeypatch.setattr("pm_monitor.core.inference.tensorrt_runner.load_tensorrt", _no_tensorrt)
    original = OnnxRuntimeRunner.run

    def slow_run(self, inputs):
        time.sleep(0.003)  # make ONNX Runtime clearly the slower one
        return original(self, inputs)

    monkeypatch.setattr(OnnxRuntimeRunner, "run", slow_run)
    monkeypatch.setattr(backend_module, "AUTO_TIMING_RUNS", 5)
    spec, model = anomaly
    built = build_runner(spec, model,
                         InferenceConfig(backend="auto", engine_cache_dir=str(tmp_path)))
    assert built.runner.backend == "torch"
    decision = built.report[-1]
    assert "onnxruntime" in decision and "torch" in decision and "-> torch" in decision


def test_auto_rejects_a_backend_that_disagrees_with_torch(anomaly, tmp_path, monkeypatch):
    monkeypatch.setattr("pm_monitor.core.inference.tensorrt_runner.load_tensorrt", _no_tensorrt)
    monkeypatch.setattr(OnnxRuntimeRunner, "run",
                        lambda self, inputs: {"anomaly_score": np.full(1, np.nan, np.float32)})
    spec, model = anomaly
    built = build_runner(spec, model,
                         InferenceConfig(backend="auto", engine_cache_dir=str(tmp_path)))
    assert built.runner.backend == "torch"
    assert any("onnxruntime unavailable" in line and "differs from torch" in line
               for line in built.report)


def test_provider_chain_prefers_tensorrt_then_cuda_and_always_ends_on_cpu(tmp_path):
    chain = ort_provider_chain([ORT_CPU, ORT_CUDA, ORT_TENSORRT], "fp16", tmp_path)
    assert chain[0][0] == ORT_TENSORRT and chain[0][1]["trt_fp16_enable"] == "True"
    assert chain[0][1]["trt_engine_cache_path"].startswith(str(tmp_path))
    assert chain[1:] == [ORT_CUDA, ORT_CPU]
    assert ort_provider_chain([ORT_CPU], "fp16", None) == [ORT_CPU]
    fp32 = ort_provider_chain([ORT_TENSORRT, ORT_CPU], "fp32", None)
    assert fp32[0][1]["trt_fp16_enable"] == "False"


def test_onnxruntime_is_asked_for_the_providers_that_exist(anomaly, tmp_path, monkeypatch):
    seen = {}
    original_init = OnnxRuntimeRunner.__init__

    def spy_init(self, spec, onnx_file, providers, intra_op_threads=1):
        seen["providers"] = list(providers)
        original_init(self, spec, onnx_file, [ORT_CPU], intra_op_threads)

    monkeypatch.setattr(OnnxRuntimeRunner, "__init__", spy_init)
    spec, model = anomaly
    build_runner(spec, model, InferenceConfig(backend="onnxruntime", precision="fp32",
                                              engine_cache_dir=str(tmp_path)),
                 available_ort_providers=[ORT_CUDA, ORT_CPU])
    assert seen["providers"] == [ORT_CUDA, ORT_CPU]


class ExplodingRunner:
    backend = "onnxruntime"
    device = "FakeProvider"

    def __init__(self, spec):
        self.spec = spec

    def run(self, inputs):
        raise RuntimeError("CUDA error: device lost")


def test_runtime_failure_hands_over_to_torch_for_good(anomaly, caplog):
    spec, model = anomaly
    guarded = GuardedRunner(ExplodingRunner(spec), lambda: TorchRunner(spec, model))
    inputs = spec.example_inputs()
    with caplog.at_level("ERROR", logger="pm_monitor.inference"):
        out = guarded.run(inputs)
    assert guarded.backend == "torch" and out["anomaly_score"].shape == (1,)
    assert "device lost" in caplog.text and len(guarded.failures) == 1
    np.testing.assert_allclose(out["anomaly_score"],
                               TorchRunner(spec, model).run(inputs)["anomaly_score"])


def test_bad_input_is_the_callers_error_not_a_fallback(anomaly):
    spec, model = anomaly
    guarded = GuardedRunner(ExplodingRunner(spec), lambda: TorchRunner(spec, model))
    with pytest.raises(ValueError, match="missing inputs"):
        guarded.run({"features": np.zeros((1, 34), np.float32)})
    with pytest.raises(ValueError, match="shape"):
        guarded.run({"features": np.zeros((1, 7), np.float32),
                     "present": np.ones((1, 7), np.float32)})
    assert guarded.backend == "onnxruntime" and not guarded.failures


def test_config_validation_and_parameters():
    with pytest.raises(ValueError, match="backend"):
        InferenceConfig(backend="cuda")
    with pytest.raises(ValueError, match="precision"):
        InferenceConfig(precision="bf16")
    assert set(INFERENCE_PARAMETERS) == {"backend", "force_engine_update", "engine_cache_dir",
                                         "precision"}
    for default, description, choices in INFERENCE_PARAMETERS.values():
        assert description
        assert choices is None or default in choices
    assert INFERENCE_PARAMETERS["backend"][2] == BACKENDS
    config = InferenceConfig.from_parameters({"backend": "onnxruntime", "precision": "fp32"})
    assert config.backend == "onnxruntime" and config.precision == "fp32"
    assert InferenceConfig.from_parameters({}).backend == "auto"
    assert InferenceConfig.from_parameters({}, ort_threads=2).ort_threads == 2
    with pytest.raises(ValueError, match="ort_threads"):
        InferenceConfig.from_parameters({}, ort_threads=0)
    assert InferenceConfig(engine_cache_dir="/x/y").cache_dir.as_posix() == "/x/y"


def test_prepare_command_exports_and_reports(tmp_path, monkeypatch, capsys):
    from pm_monitor.core.inference.__main__ import main

    bundle_dir = Path(__file__).resolve().parents[3] / "models" / "rig_baseline"
    if not (bundle_dir / "metadata.json").is_file():
        pytest.skip("models/rig_baseline not trained yet")
    monkeypatch.setattr("sys.argv", ["prepare", "--model-dir", str(bundle_dir), "--backend",
                                     "onnxruntime", "--cache-dir", str(tmp_path)])
    main()
    out = capsys.readouterr().out
    assert "stage1=onnxruntime(CPUExecutionProvider)" in out
    assert "thermal: using onnxruntime" in out
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 3


def test_prepare_command_takes_the_real_data_model_set(tmp_path, monkeypatch, capsys):
    from pm_monitor.core.inference.__main__ import main

    model_dir = Path(__file__).resolve().parents[3] / "models" / "real_data"
    monkeypatch.setattr("sys.argv", ["prepare", "--model-dir", str(model_dir), "--backend",
                                     "onnxruntime", "--cache-dir", str(tmp_path)])
    main()
    out = capsys.readouterr().out
    for name in ("stage1", "anomaly", "thermal", "camera", "acoustic"):
        assert f"{name}=onnxruntime(CPUExecutionProvider)" in out
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 5


def test_unwritable_cache_falls_back_to_torch_with_the_reason(anomaly, tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    spec, model = anomaly
    built = build_runner(spec, model, InferenceConfig(backend="onnxruntime",
                                                      engine_cache_dir=str(not_a_folder)))
    assert built.runner.backend == "torch"
    assert "cannot write the ONNX export" in built.report[0]


def test_unexpected_backend_error_is_reported_not_raised(anomaly, tmp_path, monkeypatch):
    def broken_init(self, *args, **kwargs):
        raise KeyError("provider options")

    monkeypatch.setattr(OnnxRuntimeRunner, "__init__", broken_init)
    spec, model = anomaly
    built = build_runner(spec, model, InferenceConfig(backend="onnxruntime",
                                                      engine_cache_dir=str(tmp_path)))
    assert built.runner.backend == "torch"
    assert "unexpected KeyError" in built.report[0]


def test_cascade_refuses_models_built_for_another_bundle(bundle):
    from dataclasses import replace

    from pm_monitor.core.inference import rig_network_set
    from pm_monitor.core.model_set.rig import rig_cascade

    models = rig_network_set(bundle)
    rig_cascade(bundle, models)  # the same bundle: fine
    longer = replace(bundle, sequence_length=bundle.sequence_length + 2)
    with pytest.raises(ValueError, match="stage1 runner was built for"):
        rig_cascade(longer, models)
