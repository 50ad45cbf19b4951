"""The cascade's three models (Stage 1, anomaly autoencoder, thermal localiser) on backends."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from torch import nn

from pm_monitor.core.inference.backend import GuardedRunner, InferenceConfig, build_runner
from pm_monitor.core.inference.specs import (
    DEFAULT_FRAME_HW,
    ModelSpec,
    anomaly_spec,
    stage1_spec,
    thermal_spec,
)
from pm_monitor.core.models.bundle import ModelBundle

CASCADE_MODELS: tuple[str, ...] = ("stage1", "anomaly", "thermal")

# INT8 calibration batches of one model ("stage1", ...) from real data windows. Injected by the
# caller (e.g. pm_monitor.training.rig_model_inputs.rig_int8_calibration): the runtime core does
# not generate data; without a source an INT8 TensorRT build fails, falls back and says so.
CalibrationSource = Callable[[str], Sequence[Mapping[str, np.ndarray]]]


def cascade_specs(bundle: ModelBundle,
                  frame_hw: tuple[int, int] = DEFAULT_FRAME_HW) -> dict[str, ModelSpec]:
    n_features = len(bundle.scaler.mean)
    return {
        "stage1": stage1_spec(bundle.sequence_length, n_features),
        "anomaly": anomaly_spec(n_features),
        "thermal": thermal_spec(frame_hw),
    }


def cascade_torch_models(bundle: ModelBundle) -> dict[str, nn.Module]:
    return {"stage1": bundle.stage1, "anomaly": bundle.autoencoder, "thermal": bundle.thermal}



class CascadeModels:
    """Runners of the cascade's models, keyed by CASCADE_MODELS, plus how they were chosen."""

    def __init__(self, runners: Mapping[str, GuardedRunner], report: Sequence[str]) -> None:
        missing = set(CASCADE_MODELS) - set(runners)
        if missing:
            raise ValueError(f"no runner for {sorted(missing)}")
        self.runners = dict(runners)
        self.report = list(report)

    @classmethod
    def create(cls, bundle: ModelBundle, config: InferenceConfig | None = None,
               calibration: CalibrationSource | None = None,
               frame_hw: tuple[int, int] = DEFAULT_FRAME_HW) -> CascadeModels:
        """Build (export, load or compile, warm up) every model; never raises for a backend
        that does not work here: it falls back and says so in `report`."""
        config = config or InferenceConfig()
        specs = cascade_specs(bundle, frame_hw)
        models = cascade_torch_models(bundle)
        runners, report = {}, []
        for name in CASCADE_MODELS:
            built = build_runner(specs[name], models[name], config,
                                 calibration=(functools.partial(calibration, name)
                                              if calibration else None))
            runners[name] = built.runner
            report.extend(built.report)
        return cls(runners, report)

    def check_fits(self, bundle: ModelBundle) -> None:
        """ValueError unless these runners take the bundle's inputs (sequence length, feature
        count): models built for one bundle must not silently serve another."""
        for name, spec in cascade_specs(bundle).items():
            built = self.runners[name].spec
            if name != "thermal" and built.signature() != spec.signature():
                raise ValueError(f"{name} runner was built for inputs {built.inputs}, the "
                                 f"bundle needs {spec.inputs}")

    def backend_of(self, model: str) -> str:
        return self.runners[model].backend

    def run(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.runners[model].run(inputs)

    def summary(self) -> str:
        """e.g. 'stage1=onnxruntime(CPUExecutionProvider), ...' for logs and diagnostics."""
        return ", ".join(f"{name}={r.backend}({r.device})" for name, r in self.runners.items())
