"""Accelerated inference: ONNX export of every model and torch / ONNX Runtime / TensorRT runners.

Entry points: `build_runner(spec, model, InferenceConfig(...))` for any model described by a
ModelSpec, `CascadeModels.create(bundle, config)` for the cascade's three models, and
`INFERENCE_PARAMETERS` for the node. TensorRT is optional and imported only when asked for.
"""
from pm_monitor.core.inference.backend import (
    BACKENDS,
    INFERENCE_PARAMETERS,
    BuiltRunner,
    GuardedRunner,
    InferenceConfig,
    build_runner,
)
from pm_monitor.core.inference.cascade_models import CASCADE_MODELS, CascadeModels, cascade_specs
from pm_monitor.core.inference.export import ExportedModel, ExportError, export_onnx
from pm_monitor.core.inference.runners import BackendUnavailableError, Runner
from pm_monitor.core.inference.specs import ModelSpec, TensorSpec

__all__ = [
    "BACKENDS", "CASCADE_MODELS", "INFERENCE_PARAMETERS", "BackendUnavailableError",
    "BuiltRunner", "CascadeModels", "ExportError", "ExportedModel", "GuardedRunner",
    "InferenceConfig", "ModelSpec", "Runner", "TensorSpec", "build_runner", "cascade_specs",
    "export_onnx",
]
