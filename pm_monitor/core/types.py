"""Vocabulary shared by the core, the nodes and the messages."""
from __future__ import annotations

from enum import IntEnum


class HealthState(IntEnum):
    """Health state of an asset; values equal the constants of pm_monitor/msg/Alert."""

    NORMAL = 0
    PRE_WARNING = 1
    WARNING = 2
    FAILURE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


# Fault types the simulated rig produces and the first model set knows. "none" = healthy.
FAULT_TYPES: tuple[str, ...] = ("none", "outer_race", "inner_race", "ball")
# A fault is there but its type is not named (an anomaly alone, or a decision whose held-out
# evidence does not support naming it): one alarm point that escalates until the type is known
UNKNOWN_FAULT = "unknown"

# Modality names used everywhere (window keys, Alert.modalities_used, parameters).
ACCEL = "accel"
MIC = "mic"
THERMAL = "thermal"
CAMERA = "camera"
STREAM_MODALITIES: tuple[str, ...] = (ACCEL, MIC)
IMAGE_MODALITIES: tuple[str, ...] = (THERMAL, CAMERA)
ALL_MODALITIES: tuple[str, ...] = STREAM_MODALITIES + IMAGE_MODALITIES

NS_PER_S = 1_000_000_000
