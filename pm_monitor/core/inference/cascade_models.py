"""The rig bundle's three networks (Stage 1, anomaly autoencoder, thermal localiser) as a
NetworkSet: their specs and their torch modules."""
from __future__ import annotations

from torch import nn

from pm_monitor.core.inference.backend import InferenceConfig
from pm_monitor.core.inference.network_set import CalibrationSource, NetworkSet
from pm_monitor.core.inference.specs import (
    DEFAULT_FRAME_HW,
    ModelSpec,
    anomaly_spec,
    stage1_spec,
    thermal_spec,
)
from pm_monitor.core.models.bundle import ModelBundle

CASCADE_MODELS: tuple[str, ...] = ("stage1", "anomaly", "thermal")


def cascade_specs(bundle: ModelBundle,
                  frame_hw: tuple[int, int] = DEFAULT_FRAME_HW) -> dict[str, ModelSpec]:
    n_features = len(bundle.scaler.mean)
    return {
        "stage1": stage1_spec(bundle.sequence_length, n_features),
        "anomaly": anomaly_spec(n_features),
        "thermal": thermal_spec(frame_hw),
    }


def cascade_torch_models(bundle: ModelBundle) -> dict[str, nn.Module]:
    return {"stage1": bundle.stage1, "anomaly": bundle.autoencoder, "thermal": bundle.thermal}


def rig_networks(bundle: ModelBundle, frame_hw: tuple[int, int] = DEFAULT_FRAME_HW
                 ) -> dict[str, tuple[ModelSpec, nn.Module]]:
    """{name: (spec, torch module)} of the bundle, for NetworkSet.create."""
    specs, modules = cascade_specs(bundle, frame_hw), cascade_torch_models(bundle)
    return {name: (specs[name], modules[name]) for name in CASCADE_MODELS}


def rig_network_set(bundle: ModelBundle, config: InferenceConfig | None = None,
                    calibration: CalibrationSource | None = None,
                    frame_hw: tuple[int, int] = DEFAULT_FRAME_HW) -> NetworkSet:
    """The bundle's networks on `config` (default torch). calibration: INT8 batches of real
    rig windows, injected by the caller (pm_monitor.training builds them; the runtime core
    generates no data); without it an INT8 TensorRT build falls back and says so."""
    return NetworkSet.create(rig_networks(bundle, frame_hw), config, calibration)

