"""Which inputs a rig bundle's Stage 1 may decide without: only where its own held-out evidence
shows it never cried wolf without them.

The evidence is the bundle's metadata "degraded_evidence", written by
pm_monitor.training.degraded_evidence after training: the held-out runs streamed through
Cascade.process and the alarm manager with one modality, or a set of them ("accel+mic": both
at once, one modality left), removed for the whole run, in alternate blocks (dropping out and
returning) and from a random half of the windows (a lossy link), e.g.

    {"measured_through": "Cascade.process", "runs": [...],
     "without": {"thermal": {"whole_run": {"healthy_windows": 958,
                                           "healthy_not_normal_windows": 0,
                                           "healthy_alarms": 0, "macro_f1": 0.97, ...},
                             "intermittent": {...}, "flapping": {...},
                             "max_state": "failure", "evidence": "one line for operators"}}}

A set of modalities gets a degraded mode only when all three scenarios were measured without
exactly that set on healthy held-out windows (more than 0) with no window decided not Normal and
no alarm raised; anything else (no evidence, another measurement, a single false not-Normal
window) keeps it required: a set without its own entry (evidence written before pairs were
measured) has no mode, whatever its members' entries say. The cap (max_state) and whether the
fault type is named (names_fault; absent: not named) are the evidence's own (chosen from the
same measurements, see training/degraded_evidence.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pm_monitor.core.stages.contract import DegradedMode
from pm_monitor.core.stages.rig_stage1 import RIG_STAGE1_INPUTS
from pm_monitor.core.types import HealthState

MEASURED_THROUGH = "Cascade.process"
SCENARIOS = ("whole_run", "intermittent", "flapping")
SET_SEPARATOR = "+"  # "accel+mic": the evidence without both


def evidence_key(missing: tuple[str, ...]) -> str:
    """The evidence's "without" key of a set of modalities (as measured, in this order)."""
    return SET_SEPARATOR.join(missing)


def degraded_modes(evidence: Mapping[str, Any]
                   ) -> tuple[dict[frozenset[str], DegradedMode], list[str]]:
    """(set of modalities -> DegradedMode for the sets the evidence allows, one start-up report
    line per set measured saying why it was or was not enabled)."""
    if not evidence:
        return {}, ["degraded modes: none (the bundle records no held-out evidence without a "
                    "modality: Stage 1 needs all its inputs)"]
    if evidence.get("measured_through") != MEASURED_THROUGH:
        return {}, [f"degraded modes: none (evidence not measured through {MEASURED_THROUGH})"]
    modes: dict[frozenset[str], DegradedMode] = {}
    report = []
    for key, entry in dict(evidence.get("without", {})).items():
        missing = tuple(str(key).split(SET_SEPARATOR))
        label = ", ".join(missing)
        refusal = _refusal(entry) if set(missing) < set(RIG_STAGE1_INPUTS) else (
            f"not a set of the rig Stage 1's inputs {', '.join(RIG_STAGE1_INPUTS)} with one "
            "left")
        if refusal:
            report.append(f"degraded mode without {label}: off ({refusal})")
            continue
        cap = HealthState[str(entry.get("max_state", "failure")).upper()]
        named = bool(entry.get("names_fault", False))  # not measured: not named
        mode = DegradedMode(missing, cap, str(entry.get("evidence", "")), named)
        modes[mode.key] = mode
        report.append(f"degraded mode without {label}: on, up to {cap.label}, fault type "
                      f"{'named' if named else 'unknown'} ({entry.get('evidence', '')})")
    return modes, report


def _refusal(entry: Mapping[str, Any]) -> str:
    """Why this evidence does not allow deciding without the set ('' = it does)."""
    for scenario in SCENARIOS:
        measured = entry.get(scenario)
        if not isinstance(measured, Mapping) or int(measured.get("healthy_windows", 0)) <= 0:
            return f"no healthy held-out windows measured ({scenario.replace('_', ' ')})"
        false = int(measured.get("healthy_not_normal_windows", -1))
        alarms = int(measured.get("healthy_alarms", -1))
        if false != 0 or alarms != 0:
            return (f"{scenario.replace('_', ' ')}: {false} of {measured['healthy_windows']} "
                    f"healthy held-out windows not normal, {alarms} alarm(s)")
    try:
        HealthState[str(entry.get("max_state", "failure")).upper()]
    except KeyError:
        return f"unknown max_state {entry.get('max_state')!r}"
    return ""
