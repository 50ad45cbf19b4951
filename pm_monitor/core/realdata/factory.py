"""What the monitor node calls to run the real-data profile instead of the rig bundle."""
from __future__ import annotations

from pathlib import Path

import torch

from pm_monitor.core.cascade import CascadeConfig
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import Explainer, ExplainerConfig
from pm_monitor.core.realdata.cascade import RealDataCascade
from pm_monitor.core.realdata.explain import build_real_explainer
from pm_monitor.core.realdata.profile import DEFAULT_PROFILE, RealDataProfile, load_real_profile


def build_real_cascade(profile: RealDataProfile | Path | str = DEFAULT_PROFILE,
                       inference_threads: int = 1, config: CascadeConfig | None = None,
                       background: HealthyBackground | None = None,
                       explainer_config: ExplainerConfig | None = None,
                       shaft_rpm: float | None = None) -> tuple[RealDataCascade, Explainer]:
    """(cascade, explainer) of a real-data profile (a loaded one, or its profile.json path).

    inference_threads: torch intra-op threads (process-wide in torch, as for the rig bundle's
    torch backend). Torch only: the rig path keeps its ONNX Runtime / TensorRT backends."""
    if inference_threads < 1:
        raise ValueError(f"inference_threads must be >= 1, got {inference_threads}")
    torch.set_num_threads(inference_threads)
    if not isinstance(profile, RealDataProfile):
        profile = load_real_profile(profile, shaft_rpm=shaft_rpm)
    elif shaft_rpm is not None:
        raise ValueError("shaft_rpm applies when loading: pass it to load_real_profile")
    return RealDataCascade(profile, config), build_real_explainer(
        profile, background, explainer_config)
