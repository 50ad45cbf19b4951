"""Feature extraction shared by training, evaluation and the live node."""
from pm_monitor.core.features.config import FeatureConfig
from pm_monitor.core.features.extractor import FeatureExtractor

__all__ = ["FeatureConfig", "FeatureExtractor"]
