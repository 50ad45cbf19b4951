"""What the monitor runs, loaded from one model directory: a rig-trained bundle or a real-data
profile, each with its cascade, its explainer and the inputs its models were trained on.

    models = load_monitor_models(model_dir, InferenceConfig(...), fusion_model_path="")
    pipeline = MonitorPipeline(monitor_assembler(models.window_s, models.hop_s, ...,
                                                 accel_channels=models.accel_channels),
                               models.cascade, alarms, accel_unit=models.accel_unit,
                               sample_rates=models.sample_rates)

A directory with `metadata.json` is a rig bundle (pm_monitor.core.models.bundle): the cascade
runs on any inference backend, and explanations carry the [P1] fusion gates when a fusion
model fits the bundle. A directory with `profile.json` is a real-data profile
(pm_monitor.core.realdata): the models trained and measured on the public data sets.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.inference import CascadeModels, InferenceConfig
from pm_monitor.core.models.bundle import METADATA_FILE, ModelLoadError, load_bundle
from pm_monitor.core.pipeline import ACCEL_CHANNELS

PROFILE_FILE = "profile.json"
FUSION_OFF = "none"
# The shipped [P1] fusion model, beside the shipped bundles (models/fusion/full.pt).
SHIPPED_FUSION = Path("fusion") / "full.pt"


@dataclass
class MonitorModels:
    kind: str  # "rig_bundle" or "real_data_profile"
    version: str
    window_s: float
    hop_s: float
    accel_channels: tuple[str, ...]
    accel_unit: str
    sample_rates: dict[str, float]  # input -> the only rate its models accept
    cascade: object  # process(AnalysisWindow) -> CascadeResult, reset()
    explainer: Explainer
    report: list[str] = field(default_factory=list)  # one line per loading decision
    backend_summary: Callable[[], str] = lambda: "torch"
    status: Callable[[], dict[str, object]] = dict  # extra /diagnostics values


def load_monitor_models(model_dir: Path | str, inference: InferenceConfig | None = None,
                        fusion_model_path: str = "", shaft_speed_rpm: float = 0.0,
                        ) -> MonitorModels:
    """Load whatever `model_dir` holds; ModelLoadError naming the file for anything missing,
    corrupt or mismatched (nothing half-loaded is returned)."""
    directory = Path(model_dir)
    if (directory / PROFILE_FILE).is_file():
        return _real_data_profile(directory, shaft_speed_rpm)
    if (directory / METADATA_FILE).is_file():
        return _rig_bundle(directory, inference, fusion_model_path)
    raise ModelLoadError(directory, f"neither {METADATA_FILE} (a rig bundle) nor {PROFILE_FILE} "
                                    "(a real-data profile) is in this directory")


def _rig_bundle(directory: Path, inference: InferenceConfig | None,
                fusion_model_path: str) -> MonitorModels:
    from pm_monitor.core.explain.fusion_gates import rig_fusion_gates

    bundle = load_bundle(directory)
    models = CascadeModels.create(bundle, inference)
    report = list(models.report)
    gates = None
    if fusion_model_path.strip().lower() != FUSION_OFF:
        explicit = bool(fusion_model_path.strip())
        path = Path(fusion_model_path) if explicit else directory.parent / SHIPPED_FUSION
        try:
            gates = rig_fusion_gates(bundle, path)
            report.append(f"explanations: fusion gates and modality bias from {path}")
        except ModelLoadError as err:
            if explicit:
                raise  # asked for by name: a model that does not load is an error
            report.append(f"explanations: no fusion gates ({err})")
    explainer = Explainer.from_bundle(bundle, modality_gates=gates)
    version = str(bundle.info.get("version") or bundle.info.get("label", "unknown"))
    return MonitorModels("rig_bundle", version, bundle.window_s, bundle.hop_s, ACCEL_CHANNELS,
                         "m/s^2", {}, Cascade(bundle, inference=models), explainer, report,
                         models.summary)


def _real_data_profile(directory: Path, shaft_speed_rpm: float) -> MonitorModels:
    from pm_monitor.core.realdata import build_real_cascade, load_real_profile

    profile = load_real_profile(directory / PROFILE_FILE,
                                shaft_rpm=shaft_speed_rpm if shaft_speed_rpm > 0 else None)
    cascade, explainer = build_real_cascade(profile)
    return MonitorModels(
        "real_data_profile", profile.version, profile.window_s, profile.hop_s,
        tuple(profile.accel_channels), profile.accel_unit, dict(profile.sample_rates),
        cascade, explainer, [f"real-data profile: {line}" for line in profile.describe()],
        lambda: "torch (real-data profile)", cascade.status)
