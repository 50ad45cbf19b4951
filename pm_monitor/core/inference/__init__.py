"""Accelerated inference: ONNX export of every network and torch / ONNX Runtime / TensorRT runners.

Entry points: `NetworkSet.create({name: (spec, torch module)}, InferenceConfig(...))` for any
named set of networks (the rig bundle's: `rig_network_set(bundle, config)`; the real-data
profile's: `real_data_networks(profile)`), `build_runner(spec, model, config)` for one network,
and `INFERENCE_PARAMETERS` for the node. TensorRT is optional and imported only when asked for.
"""
from pm_monitor.core.inference.backend import (
    BACKENDS,
    INFERENCE_PARAMETERS,
    BuiltRunner,
    GuardedRunner,
    InferenceConfig,
    build_runner,
)
from pm_monitor.core.inference.cascade_models import (
    CASCADE_MODELS,
    cascade_specs,
    rig_network_set,
    rig_networks,
)
from pm_monitor.core.inference.export import ExportedModel, ExportError, export_onnx
from pm_monitor.core.inference.network_set import CalibrationSource, NetworkSet
from pm_monitor.core.inference.realdata_networks import REAL_DATA_NETWORKS, real_data_networks
from pm_monitor.core.inference.runners import BackendUnavailableError, Runner
from pm_monitor.core.inference.specs import ModelSpec, TensorSpec
from pm_monitor.core.inference.wrappers import cam_heatmap

__all__ = [
    "BACKENDS", "CASCADE_MODELS", "INFERENCE_PARAMETERS", "REAL_DATA_NETWORKS",
    "BackendUnavailableError", "BuiltRunner", "CalibrationSource",
    "ExportError", "ExportedModel", "GuardedRunner", "InferenceConfig", "ModelSpec",
    "NetworkSet", "Runner", "TensorSpec", "build_runner", "cam_heatmap", "cascade_specs",
    "export_onnx", "real_data_networks", "rig_network_set", "rig_networks",
]
