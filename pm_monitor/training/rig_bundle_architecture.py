"""Build ModelBundles: the architecture choices of the rig baseline live here, in one place."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pm_monitor.core.features import FeatureConfig, FeatureExtractor
from pm_monitor.core.models.autoencoder import FeatureAutoencoder
from pm_monitor.core.models.bundle import LOCATION_NAMES, ModelBundle
from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.models.normalization import FeatureScaler
from pm_monitor.core.models.stage1_bilstm import HealthStateBiLSTM
from pm_monitor.core.models.thermal_resnet import ThermalResNet
from pm_monitor.core.models.threshold import ThresholdConfig
from pm_monitor.core.types import FAULT_TYPES, HealthState


def default_hyperparameters(n_features: int) -> dict[str, dict[str, Any]]:
    """Constructor kwargs of the three torch models (stored in the bundle to rebuild them)."""
    return {
        "stage1": {
            "n_features": n_features,
            "hidden_size": 64,
            "num_layers": 2,
            "attention_dim": 32,
            "n_states": len(HealthState),
            "n_fault_types": len(FAULT_TYPES),
            "dropout": 0.3,
        },
        "autoencoder": {"n_features": n_features, "hidden_size": 32, "bottleneck_size": 8},
        "thermal": {"n_classes": len(LOCATION_NAMES), "width": 16, "dropout": 0.2},
    }


def untrained_bundle(feature_config: FeatureConfig | None = None, seed: int = 0) -> ModelBundle:
    """A complete bundle with random weights and neutral statistics: the starting point of
    training, and a stand-in for tests that need shapes and plumbing, not accuracy."""
    torch.manual_seed(seed)
    config = feature_config or FeatureConfig()
    n_features = FeatureExtractor(config).n_features
    hyper = default_hyperparameters(n_features)
    return ModelBundle(
        feature_config=config,
        scaler=FeatureScaler(np.zeros(n_features, np.float32), np.ones(n_features, np.float32)),
        stage1=HealthStateBiLSTM(**hyper["stage1"]),
        autoencoder=FeatureAutoencoder(**hyper["autoencoder"]),
        thermal=ThermalResNet.from_hyperparameters(hyper["thermal"]),
        threshold=ThresholdConfig(floor=1.0, ceiling=3.0),
        health_indicator=HealthIndicator(np.zeros(n_features, np.float32), 0.0),
        hyperparameters=hyper,
        info={"label": "untrained"},
    ).eval()
