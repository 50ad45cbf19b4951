"""A named set of networks on one inference configuration: what every model set runs.

    networks = {"stage1": (stage1_spec(T, D), bilstm), "anomaly": (anomaly_spec(D), ae)}
    nets = NetworkSet.create(networks, InferenceConfig(backend="auto"))
    out = nets.run("stage1", {"sequence": sequence[None]})   # {output name: array}
    nets.backend_of("stage1")   # "onnxruntime"
    nets.summary()              # "stage1=onnxruntime(CPUExecutionProvider), anomaly=..."
    nets.report                 # one line per decision: what was tried, why it was kept

Every network gets its own runner from `build_runner` (export, fallback tensorrt ->
onnxruntime -> torch with the reason logged, `auto` timing, run-time hand-over to torch). The
rig bundle (cascade_models.rig_networks) and the real-data profile
(realdata_networks.real_data_networks) are two dictionaries handed to this one class.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
from torch import nn

from pm_monitor.core.inference.backend import GuardedRunner, InferenceConfig, build_runner
from pm_monitor.core.inference.specs import ModelSpec

# name of a network -> INT8 calibration batches of real inputs for it (only INT8 TensorRT
# builds call it; a network without real inputs may raise KeyError: it then falls back)
CalibrationSource = Callable[[str], Sequence[Mapping[str, np.ndarray]]]


class NetworkSet:
    """Runners of named networks, plus the report of how each backend was chosen."""

    def __init__(self, runners: Mapping[str, GuardedRunner], report: Sequence[str]) -> None:
        if not runners:
            raise ValueError("a network set needs at least one network")
        self.runners = dict(runners)
        self.report = list(report)

    @classmethod
    def create(cls, networks: Mapping[str, tuple[ModelSpec, nn.Module]],
               config: InferenceConfig | None = None,
               calibration: CalibrationSource | None = None) -> NetworkSet:
        """Build (export, load or compile, warm up) every network on config.backend (default:
        torch); never raises for a backend that does not work here: it falls back and says so
        in `report` and the log."""
        config = config or InferenceConfig()
        runners: dict[str, GuardedRunner] = {}
        report: list[str] = []
        for name, (spec, module) in networks.items():
            if spec.name != name:
                raise ValueError(f"network {name!r} has a spec named {spec.name!r}: the name "
                                 "keys its cache files and its report lines, keep them equal")
            built = build_runner(spec, module, config, calibration=None if calibration is None
                                 else functools.partial(calibration, name))
            runners[name] = built.runner
            report.extend(built.report)
        return cls(runners, report)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.runners)

    def __contains__(self, name: object) -> bool:
        return name in self.runners

    def __iter__(self) -> Iterator[str]:
        return iter(self.runners)

    def spec_of(self, name: str) -> ModelSpec:
        return self._runner(name).spec

    def backend_of(self, name: str) -> str:
        return self._runner(name).backend

    def run(self, name: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs of network `name` by the spec's output names; ValueError for inputs that
        contradict its spec (missing, wrong shape), whatever the backend."""
        return self._runner(name).run(feeds)

    def summary(self) -> str:
        """e.g. 'stage1=onnxruntime(CPUExecutionProvider), ...' for logs and diagnostics."""
        return ", ".join(f"{name}={r.backend}({r.device})" for name, r in self.runners.items())

    def require(self, specs: Mapping[str, ModelSpec]) -> None:
        """ValueError unless this set has every network in `specs` with the same inputs and
        outputs: networks built for one model set must not silently serve another."""
        missing = sorted(set(specs) - set(self.runners))
        if missing:
            raise ValueError(f"no runner for {missing}")
        for name, spec in specs.items():
            built = self.runners[name].spec
            if (built.inputs, built.outputs) != (spec.inputs, spec.outputs):
                raise ValueError(f"{name} runner was built for inputs {built.inputs}, the "
                                 f"model set needs {spec.inputs}")

    def _runner(self, name: str) -> GuardedRunner:
        try:
            return self.runners[name]
        except KeyError:
            raise KeyError(f"no network {name!r}; this set has {list(self.runners)}") from None
