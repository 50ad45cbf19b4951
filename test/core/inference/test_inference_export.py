"""ONNX export: round trip per cascade model (dynamic batch), export cache, broken files."""
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from pm_monitor.core.inference import (
    BackendUnavailableError,
    InferenceConfig,
    build_runner,
    cascade_specs,
    export_onnx,
)
from pm_monitor.core.inference.cascade_models import cascade_torch_models
from pm_monitor.core.inference.export import export_key
from pm_monitor.core.inference.runners import OnnxRuntimeRunner, TorchRunner
from pm_monitor.training.rig_bundle_architecture import untrained_bundle

# fp32 graphs of the same math: differences are float rounding only.
ROUND_TRIP_ATOL = 1e-4


@pytest.fixture(scope="module")
def bundle():
    torch.manual_seed(0)
    return untrained_bundle(seed=3)


@pytest.mark.parametrize("name", ["stage1", "anomaly", "thermal"])
@pytest.mark.parametrize("batch", [1, 5])
def test_export_round_trip_matches_torch_at_any_batch(bundle, tmp_path, name, batch):
    spec = cascade_specs(bundle)[name]
    model = cascade_torch_models(bundle)[name]
    exported = export_onnx(spec, model, tmp_path)
    graph = onnx.load(str(exported.path))
    assert [o.name for o in graph.graph.output] == list(spec.outputs)
    assert [i.name for i in graph.graph.input] == list(spec.input_names)
    inputs = spec.example_inputs(seed=batch, batch=batch)
    if name == "anomaly":
        inputs["present"] = (inputs["present"] > -0.5).astype(np.float32)  # some features absent
    got = OnnxRuntimeRunner(spec, exported.path).run(inputs)
    want = TorchRunner(spec, model).run(inputs)
    for output in spec.outputs:
        assert got[output].shape == want[output].shape
        assert got[output].shape[0] == batch
        np.testing.assert_allclose(got[output], want[output], atol=ROUND_TRIP_ATOL)


def test_thermal_graph_takes_other_frame_sizes(bundle, tmp_path):
    spec = cascade_specs(bundle)["thermal"]
    exported = export_onnx(spec, bundle.thermal, tmp_path)
    image = np.random.default_rng(0).normal(size=(2, 1, 96, 128)).astype(np.float32)
    out = OnnxRuntimeRunner(spec, exported.path).run({"image": image})
    assert out["cam"].shape == (2, 3, 96, 128)
    assert out["cam"].min() >= 0.0 and out["cam"].max() <= 1.0


def test_export_is_cached_by_weights(bundle, tmp_path):
    spec = cascade_specs(bundle)["anomaly"]
    first = export_onnx(spec, bundle.autoencoder, tmp_path)
    again = export_onnx(spec, bundle.autoencoder, tmp_path)
    assert not first.reused and again.reused and again.path == first.path
    forced = export_onnx(spec, bundle.autoencoder, tmp_path, force=True)
    assert not forced.reused
    changed = untrained_bundle(seed=4).autoencoder
    assert export_key(spec, changed) != first.key
    other = export_onnx(spec, changed, tmp_path)
    assert other.path != first.path and not other.reused


def test_export_leaves_the_model_mode_alone(bundle, tmp_path):
    model = bundle.stage1.eval()
    export_onnx(cascade_specs(bundle)["stage1"], model, tmp_path)
    assert not model.training  # a training-mode model would turn dropout on in the cascade


def test_corrupt_cached_onnx_is_exported_again(bundle, tmp_path):
    spec = cascade_specs(bundle)["stage1"]
    first = export_onnx(spec, bundle.stage1, tmp_path)
    first.path.write_bytes(first.path.read_bytes()[:1000])  # truncated on disk
    again = export_onnx(spec, bundle.stage1, tmp_path)
    assert not again.reused
    assert onnx.load(str(again.path)).graph.output


def test_broken_onnx_file_is_a_clear_error_and_build_falls_back_to_torch(
    bundle, tmp_path, monkeypatch
):
    spec = cascade_specs(bundle)["anomaly"]
    broken = Path(tmp_path) / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    with pytest.raises(BackendUnavailableError, match="cannot load"):
        OnnxRuntimeRunner(spec, broken)

    # A cache whose file is garbage but whose sidecar claims it is fine (e.g. disk corruption
    # after the hash was written): the export layer trusts it, ONNX Runtime refuses it.
    exported = export_onnx(spec, bundle.autoencoder, tmp_path)
    exported.path.write_bytes(b"garbage")
    monkeypatch.setattr("pm_monitor.core.inference.export.cached_onnx_problem",
                        lambda path, key: None)
    config = InferenceConfig(backend="onnxruntime", engine_cache_dir=str(tmp_path))
    built = build_runner(spec, bundle.autoencoder, config)
    assert built.runner.backend == "torch"
    assert any("onnxruntime unavailable" in line and "cannot load" in line
               for line in built.report)
