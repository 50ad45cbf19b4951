"""The Explainer of the real-data profile (core/explain/explainer.py, built, not changed):
integrated gradients on the FEMTO Stage 1 per axis ("horizontal", "vertical", modality accel),
Grad-CAM on the thermal_motor classifier and on the NEU camera model, both on whole frames so
the heatmaps have the frame's size, and the counterfactual towards Normal.

Counterfactual values are baseline-relative FEMTO features (log ratios to the commissioning
baseline): they read as factors of the baseline ("horizontal.rms 1.3 x baseline",
core/explain/feature_units.py to_relative).
"""
from __future__ import annotations

from pm_monitor.core.explain.attribution import SensorLayout
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import Explainer, ExplainerConfig, ImageTarget
from pm_monitor.core.explain.feature_units import to_relative
from pm_monitor.core.realdata.images import (
    CameraInput,
    ThermalInput,
    grey_pixels,
    thermal_pixels,
)
from pm_monitor.core.realdata.profile import RealDataProfile
from pm_monitor.core.types import ACCEL, CAMERA, THERMAL


def femto_layout(profile: RealDataProfile) -> SensorLayout:
    """One sensor per accelerometer axis; each axis's features are contiguous (axis after axis,
    as bearing_window.window_features writes them)."""
    names = profile.feature_names
    slices, modality = {}, {}
    for axis in profile.accel_channels:
        index = [i for i, name in enumerate(names) if name.startswith(f"{axis}.")]
        if not index or index != list(range(index[0], index[-1] + 1)):
            raise ValueError(f"features of axis {axis} are not one contiguous block")
        slices[axis], modality[axis] = slice(index[0], index[-1] + 1), ACCEL
    return SensorLayout(names, slices, modality)


def build_real_explainer(profile: RealDataProfile, background: HealthyBackground | None = None,
                         config: ExplainerConfig | None = None) -> Explainer:
    thermal = profile.thermal
    camera = profile.camera
    targets = (
        ImageTarget(THERMAL, ThermalInput(thermal.model, thermal.assumed_span_c,
                                          thermal.downscale), "net.attended",
                    thermal_pixels, thermal.class_names),
        ImageTarget(CAMERA, CameraInput(camera.model, camera.image_size), "net.features",
                    grey_pixels, camera.class_names),
    )
    return Explainer(profile.stage1, femto_layout(profile), profile.scaler.mean,
                     profile.scaler.std, profile.state_names, targets, background,
                     config=config, units=to_relative)

