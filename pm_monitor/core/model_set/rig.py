"""The rig model set: a rig-trained bundle (pm_monitor.core.models.bundle: metadata.json and
state_dicts) as RigStage1 + the thermal ImageLocalizer + the RUL stage (core/stages/rul.py: the
one RUL model, as rul_node runs it), its networks run by the inference layer (torch / ONNX
Runtime / TensorRT), explanations with the paper-000
fusion gates when a fusion model fits the bundle.

model_set.json (descriptor kind "rig_bundle"):
    "stages": {"stage1": {"kind": "rig_bundle", "bundle": "."},
               "localizers": [{"kind": "rig_thermal", "modality": "thermal"}],
               "rul": {"kind": "prognosis", "model": "../rul_rig/rul_prognosis.json",
                       "asset": "../../config/assets/rig_motor.yaml", "channels": ["x", "y"],
                       "update_period_s": 1.0, "window_s": 0.1}}
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
from pm_monitor.core.model_set.degraded import degraded_modes
from pm_monitor.core.model_set.descriptor import DESCRIPTOR_FORMAT, ModelSetDescriptor
from pm_monitor.core.models.bundle import ModelBundle, ModelLoadError, load_bundle
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.stages.contract import DegradedModes
from pm_monitor.core.stages.localizer import ImageLocalizer
from pm_monitor.core.stages.rig_stage1 import RigStage1
from pm_monitor.core.stages.rul import PrognosisRul, descriptor_rul, prognosis_rul
from pm_monitor.core.types import ACCEL, MIC, THERMAL

RIG_KIND = "rig_bundle"
FUSION_OFF = "none"
# The shipped paper-000 fusion model, beside the shipped bundles (models/fusion/full.pt).
SHIPPED_FUSION = Path("fusion") / "full.pt"
# The shipped rig RUL model (evaluation/rul_rig.py fits it on drawn simulator runs, snapshots of
# 0.1 s every 1 s of the x / y channels; the onset monitor on the rig's asset description), for
# a bundle saved beside the others under models/.
RIG_RUL = {"kind": "prognosis", "model": "../rul_rig/rul_prognosis.json",
           "asset": "../../config/assets/rig_motor.yaml", "channels": ["x", "y"],
           "update_period_s": 1.0, "window_s": 0.1}


def rig_descriptor(bundle: ModelBundle, name: str, description: str = "",
                   directory: Path | None = None) -> dict[str, Any]:
    """The model_set.json of a bundle saved in its own directory (save_bundle writes it). The
    shipped rig RUL stage (RIG_RUL) is named when its model and asset files lie where its
    relative paths point from `directory` (a bundle saved under models/), else no RUL stage."""
    rul = None
    if directory is not None and all((Path(directory) / RIG_RUL[key]).is_file()
                                     for key in ("model", "asset")):
        rul = dict(RIG_RUL)
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
                   "scorers": [], "rul": rul},
    }


def shipped_rig_rul(bundle_dir: Path | str, unit: str = "m/s^2") -> PrognosisRul:
    """The RUL stage RIG_RUL names, for a bundle directory under models/ (what the shipped rig
    model set runs), for code that builds the cascade itself (offline evaluation, tests)."""
    return prognosis_rul(RIG_RUL, lambda relative: (Path(bundle_dir) / relative).resolve(), unit)


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
    rul = descriptor_rul(descriptor)
    networks = rig_network_set(bundle, inference)
    cascade = rig_cascade(bundle, networks, config, tuple(descriptor.inputs),
                          localize=bool(stages.get("localizers")), rul=rul)
    report = list(networks.report)
    report += degraded_modes(bundle.degraded_evidence)[1]
    if rul is not None:
        report.append(f"rul: {stages['rul']['model']} ({rul.status()['rul_onset_source']} "
                      f"onset, a {rul.estimator.config.window_s:g} s snapshot every "
                      f"{rul.estimator.config.update_period_s:g} s of "
                      f"{', '.join(rul.channels)})")
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
                rul: PrognosisRul | None = None,
                degraded: DegradedModes | None = None) -> Cascade:
    """The generic cascade over a bundle's stages (rul: the model set's RUL stage, if any).
    networks: ready runners of the bundle (or how to build them; default torch). Building
    non-torch backends exports / compiles and warms up here, so construct the cascade before
    going live. degraded: the sets of inputs Stage 1 may decide without (default: what the
    bundle's held-out evidence allows, core/model_set/degraded.py; the evidence measurement
    itself passes the modes it measures)."""
    if isinstance(networks, NetworkSet):
        networks.require(cascade_specs(bundle))  # built for this bundle's inputs, or refused
    else:
        networks = rig_network_set(bundle, networks)
    config = config or CascadeConfig()
    if degraded is None:
        degraded = degraded_modes(bundle.degraded_evidence)[0]
    stage1 = RigStage1(bundle.eval(), networks, degraded)
    localizers = [ImageLocalizer(
        "thermal_localizer", THERMAL, "thermal", networks, bundle.thermal,
        lambda image: normalise_thermal_frame(image, bundle.thermal_scale_k),
        bundle.location_names,
        heatmap_classes=tuple(n for n in bundle.location_names if n != "healthy"),
        region_fraction=config.region_fraction)] if localize else []
    return Cascade(stage1, localizers, (), rul, inputs, config, stage1.sequence_shape)


def _check_kinds(descriptor: ModelSetDescriptor) -> None:
    stages = descriptor.stages
    kinds = [entry["kind"] for entry in stages.get("localizers", [])]
    if kinds not in ([], ["rig_thermal"]) or stages.get("scorers"):
        raise descriptor.error(f"a rig bundle has one localizer of kind rig_thermal and no "
                               f"scorers, got localizers {kinds}, scorers "
                               f"{[s['kind'] for s in stages.get('scorers', [])]}")

