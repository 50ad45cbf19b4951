"""The building blocks every model set is assembled from (contract.py): a Stage 1 (health state
+ anomaly score, or an abstention), Stage 2 localisers (an image model + Grad-CAM), scorers
(a per-modality score beside the decision, e.g. the microphone's) and a RUL estimate. The one
generic cascade (pm_monitor.core.cascade.Cascade) runs them; the gate logic lives there only.
"""
from pm_monitor.core.stages.contract import (
    NO_DEGRADED_MODES,
    Abstention,
    DegradedMode,
    DegradedModes,
    InputRefusedError,
    Localizer,
    NetworkRunner,
    RulStage,
    Scorer,
    Stage1,
    Stage1Decision,
    modes_by_missing,
)

__all__ = [
    "NO_DEGRADED_MODES",
    "Abstention",
    "DegradedMode",
    "DegradedModes",
    "InputRefusedError",
    "Localizer",
    "NetworkRunner",
    "RulStage",
    "Scorer",
    "Stage1",
    "Stage1Decision",
    "modes_by_missing",
]
