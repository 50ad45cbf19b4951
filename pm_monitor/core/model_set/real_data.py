"""The real-data model set: the models trained and measured on real public data, assembled
from the shared stage blocks:

    accel (FEMTO, 2 axes, 25.6 kHz)  FemtoStage1: 4 health states + feature-autoencoder anomaly
                                     score, after a commissioning baseline (abstains until then)
    gate: Stage 1 not Normal, or the anomaly score above its dynamic threshold
    thermal frame                    ImageLocalizer: thermal_motor ThermalResNet (11 conditions)
    camera frame                     ImageLocalizer: NEU surface-defect classifier (6 classes)
    mic (16 kHz)                     AcousticScorer: MIMII fan autoencoder score on the last 2.1 s

FEMTO has no fault labels, so the fault type is named honestly: the descriptor's stage1
fault_type ("bearing_degradation") when the state is not Normal. The shipped descriptor has no
RUL stage (`"rul": null`): on FEMTO the RUL comes from rul_node (the monitor's rul_in input),
whose prior needs each bearing's operating condition; a descriptor may name one
(core/stages/rul.py, `"kind": "prognosis"`), the same stage as the rig set's.
All five networks run through the inference layer's NetworkSet
(pm_monitor.core.inference.realdata_networks), so `backend` (torch / ONNX Runtime / TensorRT /
auto) applies to them as to the rig's; on torch the image localisers keep autograd Grad-CAM of
the whole frame, elsewhere the graphs' class maps give the same heatmaps.
"""
from __future__ import annotations

import numpy as np
import torch

from pm_monitor.core.cascade import Cascade, CascadeConfig
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import ExplainerConfig
from pm_monitor.core.inference import InferenceConfig, NetworkSet, real_data_networks
from pm_monitor.core.model_set.contract import CascadeModelSet, with_required_by
from pm_monitor.core.model_set.descriptor import ModelSetDescriptor
from pm_monitor.core.realdata.explain import build_real_explainer
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    camera_model_input,
    grey_pixels,
    thermal_model_input,
    thermal_pixels,
)
from pm_monitor.core.realdata.profile import RealDataProfile, load_profile
from pm_monitor.core.realdata.sound import AcousticScorer
from pm_monitor.core.realdata.stage1 import FemtoStage1
from pm_monitor.core.stages.localizer import ImageLocalizer
from pm_monitor.core.stages.rul import PrognosisRul, descriptor_rul
from pm_monitor.core.types import CAMERA, THERMAL

__all__ = ["build_real_data_set", "real_data_cascade"]


def build_real_data_set(descriptor: ModelSetDescriptor, shaft_rpm: float | None = None,
                        config: CascadeConfig | None = None,
                        background: HealthyBackground | None = None,
                        explainer_config: ExplainerConfig | None = None,
                        inference: InferenceConfig | None = None) -> CascadeModelSet:
    """inference: backends of the five networks (default torch); building non-torch backends
    exports / compiles and warms up here."""
    # torch intra-op threads: one, as the monitor always ran these models (process-wide)
    torch.set_num_threads(1)
    profile = load_profile(descriptor, shaft_rpm)
    networks = NetworkSet.create(real_data_networks(profile), inference)
    cascade = real_data_cascade(profile, config, tuple(descriptor.inputs), networks,
                                descriptor_rul(descriptor))
    explainer = build_real_explainer(profile, background, explainer_config)
    return CascadeModelSet(
        descriptor.name, profile.version, descriptor.window_s, descriptor.hop_s,
        with_required_by(descriptor.inputs, cascade), cascade, explainer,
        [*profile.describe(), *networks.report], networks.summary)


def real_data_cascade(profile: RealDataProfile, config: CascadeConfig | None = None,
                      inputs: tuple[str, ...] = (), networks: NetworkSet | None = None,
                      rul: PrognosisRul | None = None) -> Cascade:
    """networks: the profile's networks on a backend (default: torch); rul: the set's RUL
    stage, if its descriptor names one."""
    config = config or CascadeConfig()
    if networks is None:
        networks = NetworkSet.create(real_data_networks(profile))
    else:
        networks.require({name: spec for name, (spec, _) in
                          real_data_networks(profile).items()})
    t, c = profile.thermal, profile.camera
    localizers = [
        ImageLocalizer("thermal_classifier", THERMAL, "thermal", networks,
                       ThermalInput(t.model, t.assumed_span_c, t.downscale).eval(),
                       thermal_pixels, t.class_names, region_fraction=config.region_fraction,
                       network_input=lambda frame: thermal_model_input(
                           frame, t.assumed_span_c, t.downscale)),
        ImageLocalizer("camera_defect", CAMERA, "camera", networks,
                       CameraInput(c.model, c.image_size).eval(), grey_pixels, c.class_names,
                       region_fraction=config.region_fraction,
                       network_input=lambda grey: camera_model_input(
                           grey.astype(np.uint8), c.image_size)),
    ]
    stage1 = FemtoStage1(profile, networks)
    return Cascade(stage1, localizers, [AcousticScorer(profile.acoustic, networks)], rul,
                   inputs, config, stage1.sequence_shape)
