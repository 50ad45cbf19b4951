"""The real-data model set's five networks as NetworkSet entries (names as the rig's where the
network does the same job: stage1, anomaly, thermal).

    nets = NetworkSet.create(real_data_networks(profile), InferenceConfig(backend="auto"))

- stage1: FEMTO HealthStateBiLSTM; sequence (B, 10, 60) standardised baseline-relative
  features -> state / fault probabilities, attention.
- anomaly: FEMTO FeatureAutoencoder; features, present (B, 60) -> anomaly_score.
- thermal: thermal_motor ThermalResNet; image (B, 1, 48, 64) downscaled, normalised palette
  index -> location_probabilities (the 11 conditions), spatial_attention, cam (B, 11, 6, 8).
- camera: NEU CameraDefectNet; image (B, 1, 64, 64) resized, per-image normalised grey ->
  location_probabilities (the 6 defects), cam (B, 6, 8, 8).
- acoustic: MIMII fan SpectrogramAutoencoder; patches (B, 1, 64, 32) standardised log-mel ->
  patch_error (B,).

The host keeps the preprocessing exactly as in training (features, baseline, palette
inversion, resizing, log-mel). The image networks' `cam` is upsampled to the frame the caller
explains with `wrappers.cam_heatmap`, which equals Grad-CAM on the whole frame (the *Input
modules of realdata/images.py): bilinear upsampling from the feature map is the one step
between them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from pm_monitor.core.inference.specs import (
    ModelSpec,
    acoustic_spec,
    anomaly_spec,
    camera_spec,
    stage1_spec,
    thermal_spec,
)

if TYPE_CHECKING:
    from pm_monitor.core.realdata.profile import RealDataProfile

REAL_DATA_NETWORKS: tuple[str, ...] = ("stage1", "anomaly", "thermal", "camera", "acoustic")
# thermal_motor frames (the data set's 240 x 320); other sizes work within the spec's range
THERMAL_MOTOR_FRAME_HW = (240, 320)


def real_data_networks(profile: RealDataProfile,
                       thermal_frame_hw: tuple[int, int] = THERMAL_MOTOR_FRAME_HW
                       ) -> dict[str, tuple[ModelSpec, nn.Module]]:
    """{name: (spec, torch module)} of every network the real-data profile runs."""
    n_features = len(profile.feature_names)
    factor = profile.thermal.downscale
    acoustic = profile.acoustic.model
    return {
        "stage1": (stage1_spec(profile.sequence_length, n_features), profile.stage1),
        "anomaly": (anomaly_spec(n_features), profile.autoencoder),
        "thermal": (thermal_spec((thermal_frame_hw[0] // factor, thermal_frame_hw[1] // factor),
                                 cam_at_input=False), profile.thermal.model),
        "camera": (camera_spec(profile.camera.image_size), profile.camera.model),
        "acoustic": (acoustic_spec(acoustic.n_bands, acoustic.n_frames), acoustic),
    }
