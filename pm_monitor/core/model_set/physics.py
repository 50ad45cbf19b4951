"""The physics model set: per-asset commissioning + physics rules as Stage 1 (no network, no
training data; pm_monitor.core.condition), on the one generic Cascade.

    models/physics/model_set.json:
      "inputs": {"accel": {"channels": [...], "unit": "g", "sample_rate_hz": null}}
      "stages": {"stage1": {"kind": "asset_physics",
                            "asset_file": "../../config/assets/rig_motor.yaml"}}

The asset file (the node's `asset_file` parameter, else the descriptor's) gives the axes, the
unit, the bearings and the ISO group; the accelerometer's rate is free (2.23-100 kHz; below
4.9 kHz the bearing-damage rules and the envelope are off, core/condition/monitor.py). The set's
inputs are exactly the asset's sensors: a microphone-only asset (`accelerometer: {enabled:
false}`, e.g. config/assets/mimii_fan.yaml) has the input `mic` alone, which its Stage 1 then
needs. The
reference is stored per asset under `reference_dir` (atomic JSON, resumable). The set takes a
microphone (any rate >= 8 kHz, optional: never required for a decision) only when the asset
declares one (`microphone: {enabled: true}`), and the asset's `analysis:` window / hop replace
the descriptor's (e.g. one 0.1 s snapshot per window for FEMTO recordings).
"""
from __future__ import annotations

from pathlib import Path

from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.cascade import Cascade, CascadeConfig
from pm_monitor.core.condition.explain import PhysicsExplainer
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.config_schema import ConfigError
from pm_monitor.core.model_set.contract import CascadeModelSet, with_required_by
from pm_monitor.core.model_set.descriptor import InputSpec, ModelSetDescriptor
from pm_monitor.core.types import ACCEL, MIC


def build_physics_set(descriptor: ModelSetDescriptor, asset_file: str = "",
                      reference_dir: str | Path = "", shaft_speed_rpm: float = 0.0,
                      config: CascadeConfig | None = None) -> CascadeModelSet:
    """shaft_speed_rpm > 0 overrides the asset's speed source (a measured value)."""
    stage = descriptor.stages["stage1"]
    path = Path(asset_file) if asset_file else descriptor.file(str(stage.get("asset_file", "")))
    if not path.is_file():
        raise descriptor.error(f"asset file {path} not found (set the asset_file parameter)")
    try:
        asset = load_asset(path)
    except ConfigError as err:
        raise descriptor.error(str(err)) from None
    store = ReferenceStore(reference_dir) if reference_dir else None
    inputs = {}
    if asset.accelerometer:
        inputs[ACCEL] = InputSpec(ACCEL, asset.unit, tuple(asset.axes) or ("x",), None)
    if asset.microphone:
        inputs[MIC] = InputSpec(MIC, "", ("mic",), None)
    window_s, hop_s = ((asset.window_s, asset.hop_s) if asset.window_s > 0
                       else (descriptor.window_s, descriptor.hop_s))
    stage1 = PhysicsStage1(asset, store, asset.unit, hop_s)
    if shaft_speed_rpm > 0:
        stage1.given_rpm = float(shaft_speed_rpm)
    cascade = Cascade(stage1, (), (), None, tuple(inputs), config)
    sensors = (f"bearings {', '.join(asset.bearings)}; speed {asset.shaft_speed.source} "
               f"{asset.shaft_speed.nominal_rpm:g} rpm; ISO 10816-3 group {asset.iso_group} "
               f"{asset.iso_foundation}" if asset.accelerometer
               else "microphone only (sound alone: Pre-Warning at most)")
    optional_mic = "microphone (optional) and " if asset.microphone and asset.accelerometer \
        else ""
    report = [f"physics: asset {asset.asset_id} from {path}; {sensors}; commissioning "
              f"{asset.commissioning_s:g} s; {optional_mic}window "
              f"{window_s:g} s / hop {hop_s:g} s{' (asset file)' if asset.window_s > 0 else ''}; "
              f"reference {stage1.reference_path() or 'in memory only'}"]
    return CascadeModelSet(descriptor.name, f"physics-{asset.asset_id}", window_s,
                           hop_s, with_required_by(inputs, cascade), cascade,
                           PhysicsExplainer(stage1), report, lambda: "numpy/scipy")
