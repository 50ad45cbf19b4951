"""The real-data model set: the models trained and measured on real public data, assembled
from the shared stage blocks:

    accel (FEMTO, 2 axes, 25.6 kHz)  FemtoStage1: 4 health states + feature-autoencoder anomaly
                                     score, after a commissioning baseline (abstains until then)
    gate: Stage 1 not Normal, or the anomaly score above its dynamic threshold
    thermal frame                    ImageLocalizer: thermal_motor ThermalResNet (11 conditions)
    camera frame                     ImageLocalizer: NEU surface-defect classifier (6 classes)
    mic (16 kHz)                     AcousticScorer: MIMII fan autoencoder score on the last 2.1 s

FEMTO has no fault labels, so the fault type is named honestly: the descriptor's stage1
fault_type ("bearing_degradation") when the state is not Normal. No RUL stage: on FEMTO it
comes from rul_node (the monitor's rul_in input). Stage 1 networks run through TorchNetworks
(the export wrappers, so ONNX runners can take their place); the image models' Grad-CAM and
the acoustic score on torch.
"""
from __future__ import annotations

import torch

from pm_monitor.core.cascade import Cascade, CascadeConfig
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import ExplainerConfig
from pm_monitor.core.inference.wrappers import AnomalyExport, Stage1Export
from pm_monitor.core.model_set.contract import CascadeModelSet, with_required_by
from pm_monitor.core.model_set.descriptor import ModelSetDescriptor
from pm_monitor.core.realdata.explain import build_real_explainer
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    grey_pixels,
    thermal_pixels,
)
from pm_monitor.core.realdata.profile import RealDataProfile, load_profile
from pm_monitor.core.realdata.sound import AcousticScorer
from pm_monitor.core.realdata.stage1 import FemtoStage1
from pm_monitor.core.stages.localizer import ImageLocalizer
from pm_monitor.core.stages.networks import TorchNetwork, TorchNetworks
from pm_monitor.core.types import CAMERA, THERMAL

__all__ = ["build_real_data_set", "real_data_cascade"]


def build_real_data_set(descriptor: ModelSetDescriptor, shaft_rpm: float | None = None,
                        config: CascadeConfig | None = None,
                        background: HealthyBackground | None = None,
                        explainer_config: ExplainerConfig | None = None) -> CascadeModelSet:
    # torch intra-op threads: one, as the monitor always ran these models (process-wide)
    torch.set_num_threads(1)
    profile = load_profile(descriptor, shaft_rpm)
    cascade = real_data_cascade(profile, config, tuple(descriptor.inputs))
    explainer = build_real_explainer(profile, background, explainer_config)
    return CascadeModelSet(
        descriptor.name, profile.version, descriptor.window_s, descriptor.hop_s,
        with_required_by(descriptor.inputs, cascade), cascade, explainer,
        profile.describe(), cascade.stage1.networks.summary)


def real_data_cascade(profile: RealDataProfile, config: CascadeConfig | None = None,
                      inputs: tuple[str, ...] = ()) -> Cascade:
    config = config or CascadeConfig()
    thermal = ThermalInput(profile.thermal.model, profile.thermal.assumed_span_c,
                           profile.thermal.downscale).eval()
    camera = CameraInput(profile.camera.model, profile.camera.image_size).eval()
    networks = TorchNetworks({
        "stage1": TorchNetwork(Stage1Export(profile.stage1), ("sequence",),
                               ("state_probabilities", "fault_probabilities", "attention")),
        "anomaly": TorchNetwork(AnomalyExport(profile.autoencoder), ("features", "present"),
                                ("anomaly_score",)),
        "thermal": TorchNetwork(thermal, ("image",), ("logits", "spatial_attention")),
        "camera": TorchNetwork(camera, ("image",), ("logits",)),
    })
    stage1 = FemtoStage1(profile, networks)
    localizers = [
        ImageLocalizer("thermal_classifier", THERMAL, "thermal", networks, thermal,
                       thermal_pixels, profile.thermal.class_names,
                       region_fraction=config.region_fraction),
        ImageLocalizer("camera_defect", CAMERA, "camera", networks, camera, grey_pixels,
                       profile.camera.class_names, region_fraction=config.region_fraction),
    ]
    return Cascade(stage1, localizers, [AcousticScorer(profile.acoustic)], None, inputs,
                   config, stage1.sequence_shape)
