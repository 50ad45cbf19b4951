"""The declarative description of a model set on disk: `<model dir>/model_set.json`, one format
for every model set (which stages, which models, which inputs).

    {
     "format": 1, "name": "...", "description": "...",
     "window_s": 1.0, "hop_s": 0.5,
     "inputs": {                       # what the models were trained on, per modality
      "accel": {"channels": ["x", "y", "z"], "unit": "m/s^2", "sample_rate_hz": null},
      "thermal": {"unit": "degC"}      # sample_rate_hz null / absent: any rate
     },
     "stages": {
      "stage1": {"kind": "rig_bundle", ...},           # health state + anomaly score
      "localizers": [{"kind": "...", "modality": "thermal", ...}],   # Stage 2 maps
      "scorers": [{"kind": "...", "modality": "mic", ...}],          # scores beside
      "rul": {"kind": "prognosis", "model": ...} or null (core/stages/rul.py)
     }
    }

Weight paths inside stages are relative to the descriptor's directory. Every problem is a
ModelLoadError naming this file (the stage builders name the weight file they could not load).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pm_monitor.core.models.bundle import ModelLoadError, read_json_file
from pm_monitor.core.types import ACCEL, CAMERA, MIC, THERMAL

DESCRIPTOR_FILE = "model_set.json"
DESCRIPTOR_FORMAT = 1
MODALITIES: tuple[str, ...] = (ACCEL, MIC, THERMAL, CAMERA)
STREAMS: tuple[str, ...] = (ACCEL, MIC)


@dataclass(frozen=True)
class InputSpec:
    """One input the model set's models were trained on. sample_rate_hz: the only rate they
    accept (None: any; images: None). channels: stream channels in the models' order."""

    modality: str
    unit: str
    channels: tuple[str, ...] = ()
    sample_rate_hz: float | None = None
    required_by: tuple[str, ...] = ()  # names of the stages that need it


@dataclass(frozen=True)
class ModelSetDescriptor:
    path: Path
    name: str
    description: str
    window_s: float
    hop_s: float
    inputs: dict[str, InputSpec]
    stages: dict[str, Any]  # the raw "stages" object; each stage builder validates its part
    data: dict[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent

    def file(self, relative: str) -> Path:
        """A weight path named in the descriptor, resolved against its directory."""
        return (self.directory / str(relative)).resolve()

    def error(self, reason: str) -> ModelLoadError:
        return ModelLoadError(self.path, reason)


def read_descriptor(directory: Path | str) -> ModelSetDescriptor:
    """Read and validate `<directory>/model_set.json`; ModelLoadError naming it otherwise."""
    path = Path(directory) / DESCRIPTOR_FILE
    data = read_json_file(path, missing="file not found (every model directory describes its "
                                        "model set in model_set.json)")
    problems: list[str] = []
    if data.get("format") != DESCRIPTOR_FORMAT:
        problems.append(f"format must be {DESCRIPTOR_FORMAT}, got {data.get('format')!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append("name must be a non-empty string")
    window_s, hop_s = (_positive(data, key, problems) for key in ("window_s", "hop_s"))
    inputs = _inputs(data.get("inputs"), problems)
    stages = data.get("stages")
    if not isinstance(stages, dict):
        problems.append("stages must be an object")
        stages = {}
    else:
        problems += _stage_problems(stages, inputs)
    if problems:
        raise ModelLoadError(path, "; ".join(problems))
    return ModelSetDescriptor(path, str(name), str(data.get("description", "")), window_s,
                              hop_s, inputs, stages, data)


def _positive(data: dict[str, Any], key: str, problems: list[str]) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        problems.append(f"{key} must be a positive number, got {value!r}")
        return 1.0
    return float(value)


def _inputs(raw: object, problems: list[str]) -> dict[str, InputSpec]:
    if not isinstance(raw, dict) or not raw:
        problems.append("inputs must be a non-empty object")
        return {}
    inputs = {}
    for modality, spec in raw.items():
        if modality not in MODALITIES:
            problems.append(f"inputs.{modality}: unknown input (known: {', '.join(MODALITIES)})")
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("unit"), str):
            problems.append(f"inputs.{modality} must be an object with a unit")
            continue
        channels = spec.get("channels", [])
        if modality in STREAMS and (not isinstance(channels, list) or not channels
                                    or not all(isinstance(c, str) for c in channels)):
            problems.append(f"inputs.{modality}.channels must be a list of channel names")
            continue
        rate = spec.get("sample_rate_hz")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                 or not rate > 0):
            problems.append(f"inputs.{modality}.sample_rate_hz must be > 0 or null")
            continue
        inputs[modality] = InputSpec(modality, spec["unit"], tuple(channels),
                                     None if rate is None else float(rate))
    return inputs


def _stage_problems(stages: dict[str, Any], inputs: dict[str, InputSpec]) -> list[str]:
    problems = []
    stage1 = stages.get("stage1")
    if not isinstance(stage1, dict) or not isinstance(stage1.get("kind"), str):
        problems.append("stages.stage1 must be an object with a kind")
    for group in ("localizers", "scorers"):
        entries = stages.get(group, [])
        if not isinstance(entries, list):
            problems.append(f"stages.{group} must be a list")
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
                problems.append(f"stages.{group}[{i}] must be an object with a kind")
            elif entry.get("modality") not in inputs:
                problems.append(f"stages.{group}[{i}].modality {entry.get('modality')!r} is "
                                f"not one of the declared inputs {sorted(inputs)}")
    rul = stages.get("rul")
    if rul is not None and (not isinstance(rul, dict) or not isinstance(rul.get("kind"), str)):
        problems.append("stages.rul must be null or an object with a kind")
    unknown = set(stages) - {"stage1", "localizers", "scorers", "rul"}
    if unknown:
        problems.append(f"stages: unknown keys {sorted(unknown)}")
    return problems
