"""The one loader of model sets: `<model dir>/model_set.json` -> a ModelSet.

    models = load_model_set("models/rig_baseline", InferenceConfig(...))
    pipeline = MonitorPipeline(monitor_assembler(models.window_s, models.hop_s, ...,
                                                 accel_channels=models.accel_channels),
                               models, alarms, accel_unit=models.accel_unit,
                               sample_rates=models.sample_rates)

The descriptor is validated first (pm_monitor.core.model_set.descriptor); its Stage 1 kind
picks the builder that assembles the stages. Anything missing, corrupt or mismatched is a
ModelLoadError naming the file; nothing half-loaded is returned.
"""
from __future__ import annotations

from pathlib import Path

from pm_monitor.core.inference import InferenceConfig
from pm_monitor.core.model_set.contract import CascadeModelSet
from pm_monitor.core.model_set.descriptor import read_descriptor
from pm_monitor.core.model_set.rig import RIG_KIND, build_rig_set

REAL_DATA_KIND = "femto_bearing"  # builder: pm_monitor.core.model_set.real_data
PHYSICS_KIND = "asset_physics"  # builder: pm_monitor.core.model_set.physics


def load_model_set(model_dir: Path | str, inference: InferenceConfig | None = None,
                   fusion_model_path: str = "", shaft_speed_rpm: float = 0.0,
                   asset_file: str = "", reference_dir: str = "",
                   asset_id: str = "") -> CascadeModelSet:
    """inference: backends of the set's networks; fusion_model_path: the rig explanations'
    fusion gates ("" = the shipped one beside the set, "none" = off); shaft_speed_rpm: the
    monitored shaft's speed where the set's features depend on it (0 = the descriptor's);
    asset_file / reference_dir: the physics set's asset description ("" = the descriptor's)
    and where it keeps per-asset commissioning references ("" = in memory only); the RUL
    stage, when the set has one, keeps its onset reference and tracker state of `asset_id`
    there too ("" = the id in its asset description), so its RUL survives a restart."""
    models = _build(model_dir, inference, fusion_model_path, shaft_speed_rpm, asset_file,
                    reference_dir)
    rul = models.cascade.rul
    if rul is not None and reference_dir:
        rul.keep_state(reference_dir, asset_id)
        models.report.append(f"rul state: {rul.status()['rul_state']}")
    return models


def _build(model_dir: Path | str, inference: InferenceConfig | None, fusion_model_path: str,
           shaft_speed_rpm: float, asset_file: str, reference_dir: str) -> CascadeModelSet:
    descriptor = read_descriptor(model_dir)
    kind = descriptor.stages["stage1"]["kind"]
    if kind == RIG_KIND:
        return build_rig_set(descriptor, inference, fusion_model_path)
    if kind == REAL_DATA_KIND:
        from pm_monitor.core.model_set.real_data import build_real_data_set

        return build_real_data_set(descriptor,
                                   shaft_speed_rpm if shaft_speed_rpm > 0 else None,
                                   inference=inference)
    if kind == PHYSICS_KIND:
        from pm_monitor.core.model_set.physics import build_physics_set

        return build_physics_set(descriptor, asset_file, reference_dir, shaft_speed_rpm)
    raise descriptor.error(f"unknown stages.stage1.kind {kind!r} (known: {RIG_KIND}, "
                           f"{REAL_DATA_KIND}, {PHYSICS_KIND})")
