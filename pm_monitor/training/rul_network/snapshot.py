"""One vibration snapshot -> the model's inputs: Bresenham image of the horizontal axis and
CWT features of the vertical axis. The same function serves training, evaluation and the
live estimator, so a deployed model sees exactly what it was trained on."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from pm_monitor.training.rul_network.cwt_features import FEATURE_NAMES, CwtConfig, cwt_features
from pm_monitor.training.rul_network.raster import DEFAULT_LEVELS, rasterise


@dataclass(frozen=True)
class SnapshotConfig:
    """How a snapshot (window_samples frames of horizontal + vertical acceleration in g)
    becomes model inputs."""

    window_samples: int = 2560  # one FEMTO snapshot: 0.1 s at 25.6 kHz
    levels: int = DEFAULT_LEVELS
    image_width: int = 64  # columns after OR-merging (window_samples must divide by it)
    cwt: CwtConfig = field(default_factory=CwtConfig)

    def __post_init__(self) -> None:
        if self.window_samples % self.image_width:
            raise ValueError(f"image_width {self.image_width} must divide window_samples "
                             f"{self.window_samples}")

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(values: dict) -> SnapshotConfig:
        values = dict(values)
        values["cwt"] = CwtConfig(**values.get("cwt", {}))
        return SnapshotConfig(**values)


N_FEATURES = len(FEATURE_NAMES)


def snapshot_inputs(horizontal_g: np.ndarray, vertical_g: np.ndarray,
                    config: SnapshotConfig) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8 (levels, image_width) in {0, 1}, features float32 (7,))."""
    horizontal_g = np.asarray(horizontal_g)
    vertical_g = np.asarray(vertical_g)
    expected = (config.window_samples,)
    if horizontal_g.shape != expected or vertical_g.shape != expected:
        raise ValueError(f"snapshot axes must have shape {expected}, got "
                         f"{horizontal_g.shape} and {vertical_g.shape}")
    image = rasterise(horizontal_g, config.levels, config.image_width)
    features = cwt_features(vertical_g, config.cwt).astype(np.float32)
    return image, features


def rms(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sqrt(np.mean(np.square(np.asarray(values, dtype=np.float64)), axis=axis))
