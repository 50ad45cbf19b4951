"""The rig model set: a rig-trained bundle (pm_monitor.core.models.bundle: metadata.json and
state_dicts) as RigStage1 + the thermal ImageLocalizer + the health-index RUL, its networks run
by the inference layer (torch / ONNX Runtime / TensorRT), explanations with the paper-000
fusion gates when a fusion model fits the bundle.

model_set.json (descriptor kind "rig_bundle"):
    "stages": {"stage1": {"kind": "rig_bundle", "bundle": "."},
               "localizers": [{"kind": "rig_thermal", "modality": "thermal"}],
               "rul": {"kind": "health_index"}}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pm_monitor.core.cascade import Cascade, CascadeConfig
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.inference import (
    InferenceConfig,
    NetworkSet,
    cascade_specs,
    rig_network_set,
)
from pm_monitor.core.model_set.contract import CascadeModelSet, with_required_by
from pm_monitor.core.model_set.descriptor import DESCRIPTOR_FORMAT, ModelSetDescriptor
from pm_monitor.core.models.bundle import ModelBundle, ModelLoadError, load_bundle
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.stages.localizer import ImageLocalizer
from pm_monitor.core.stages.rig_stage1 import RigStage1
from pm_monitor.core.stages.rul import HealthIndexRul
from pm_monitor.core.types import ACCEL, MIC, THERMAL

RIG_KIND = "rig_bundle"
FUSION_OFF = "none"
# The shipped paper-000 fusion model, beside the shipped bundles (models/fusion/full.pt).
SHIPPED_FUSION = Path("fusion") / "full.pt"


def rig_descriptor(bundle: ModelBundle, name: str, description: str = "") -> dict[str, Any]:
    """The model_set.json of a bundle saved in its own directory (save_bundle writes it)."""
    return {
        "format": DESCRIPTOR_FORMAT, "name": name, "description": description,
        "window_s": bundle.window_s, "hop_s": bundle.hop_s,
        "inputs": {
            ACCEL: {"channels": list(bundle.feature_config.accel_axes),
                    "unit": "m/s^2", "sample_rate_hz": None},
            MIC: {"channels": ["mic"], "unit": "Pa", "sample_rate_hz": None},
            THERMAL: {"unit": "degC"},
        },
        "stages": {"stage1": {"kind": RIG_KIND, "bundle": "."},
                   "localizers": [{"kind": "rig_thermal", "modality": THERMAL}],
                   "scorers": [], "rul": {"kind": "health_index"}},
    }


def build_rig_set(descriptor: ModelSetDescriptor, inference: InferenceConfig | None = None,
                  fusion_model_path: str = "",
                  config: CascadeConfig | None = None) -> CascadeModelSet:
    from pm_monitor.core.explain.fusion_gates import rig_fusion_gates

    stages = descriptor.stages
    bundle_dir = descriptor.file(stages["stage1"].get("bundle", "."))
    bundle = load_bundle(bundle_dir)
    if (bundle.window_s, bundle.hop_s) != (descriptor.window_s, descriptor.hop_s):
        raise descriptor.error(f"window_s / hop_s {descriptor.window_s:g} / "
                               f"{descriptor.hop_s:g} differ from the bundle's "
                               f"{bundle.window_s:g} / {bundle.hop_s:g}")
    _check_kinds(descriptor)
    networks = rig_network_set(bundle, inference)
    cascade = rig_cascade(bundle, networks, config, tuple(descriptor.inputs),
                          localize=bool(stages.get("localizers")), rul=bool(stages.get("rul")))
    report = list(networks.report)
    gates = None
    if fusion_model_path.strip().lower() != FUSION_OFF:
        explicit = bool(fusion_model_path.strip())
        path = (Path(fusion_model_path) if explicit
                else descriptor.directory.parent / SHIPPED_FUSION)
        try:
            gates = rig_fusion_gates(bundle, path)
            report.append(f"explanations: fusion gates and modality bias from {path}")
        except ModelLoadError as err:
            if explicit:
                raise  # asked for by name: a model that does not load is an error
            report.append(f"explanations: no fusion gates ({err})")
    explainer = Explainer.from_bundle(bundle, modality_gates=gates)
    version = str(bundle.info.get("version") or bundle.info.get("label", "unknown"))
    return CascadeModelSet(descriptor.name, version, descriptor.window_s, descriptor.hop_s,
                           with_required_by(descriptor.inputs, cascade), cascade, explainer,
                           report, networks.summary)


def rig_cascade(bundle: ModelBundle, networks: NetworkSet | InferenceConfig | None = None,
                config: CascadeConfig | None = None,
                inputs: tuple[str, ...] = (ACCEL, MIC, THERMAL), localize: bool = True,
                rul: bool = True) -> Cascade:
    """The generic cascade over a bundle's stages. networks: ready runners of the bundle (or
    how to build them; default torch). Building non-torch backends exports / compiles and
    warms up here, so construct the cascade before going live."""
    if isinstance(networks, NetworkSet):
        networks.require(cascade_specs(bundle))  # built for this bundle's inputs, or refused
    else:
        networks = rig_network_set(bundle, networks)
    config = config or CascadeConfig()
    stage1 = RigStage1(bundle.eval(), networks)
    localizers = [ImageLocalizer(
        "thermal_localizer", THERMAL, "thermal", networks, bundle.thermal,
        lambda image: normalise_thermal_frame(image, bundle.thermal_scale_k),
        bundle.location_names,
        heatmap_classes=tuple(n for n in bundle.location_names if n != "healthy"),
        region_fraction=config.region_fraction)] if localize else []
    estimator = HealthIndexRul(bundle.rul, seed=config.seed) if rul else None
    return Cascade(stage1, localizers, (), estimator, inputs, config, stage1.sequence_shape)


def _check_kinds(descriptor: ModelSetDescriptor) -> None:
    stages = descriptor.stages
    kinds = [entry["kind"] for entry in stages.get("localizers", [])]
    if kinds not in ([], ["rig_thermal"]) or stages.get("scorers"):
        raise descriptor.error(f"a rig bundle has one localizer of kind rig_thermal and no "
                               f"scorers, got localizers {kinds}, scorers "
                               f"{[s['kind'] for s in stages.get('scorers', [])]}")
    rul = stages.get("rul")
    if rul is not None and rul["kind"] != "health_index":
        raise descriptor.error(f"rig bundle rul kind must be health_index, got {rul['kind']}")

