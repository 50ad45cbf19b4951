"""Choosing and building a runner for one model: requested backend, fallbacks, `auto`.

`tensorrt` falls back to `onnxruntime`, which falls back to `torch`; each step says why.
`auto` builds every backend that works here, checks it against torch on an example input,
times it and keeps the fastest, logging the table it decided on. A runner that fails later, at
run time, hands over to torch for good (GuardedRunner) instead of taking the node down.
"""
from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from pm_monitor.core.inference.engine_cache import EngineCache
from pm_monitor.core.inference.export import ExportedModel, ExportError, export_onnx
from pm_monitor.core.inference.runners import (
    BackendUnavailableError,
    OnnxRuntimeRunner,
    Runner,
    TorchRunner,
    ort_provider_chain,
)
from pm_monitor.core.inference.specs import ModelSpec

LOG = logging.getLogger("pm_monitor.inference")
BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
PRECISIONS = ("fp16", "fp32", "int8")
FALLBACK_CHAIN = {
    "auto": ("tensorrt", "onnxruntime", "torch"),
    "tensorrt": ("tensorrt", "onnxruntime", "torch"),
    "onnxruntime": ("onnxruntime", "torch"),
    "torch": ("torch",),
}
# Sanity check of a freshly built runner against torch on a random example input: it catches
# broken engines / graphs, not small numeric drift (the parity tests measure that on real data).
# |got - torch| <= tol * (1 + |torch|) per element.
SANITY_ATOL = {"fp32": 1e-3, "fp16": 0.1, "int8": 0.25}
AUTO_TIMING_RUNS = 30
# Per candidate: stop timing after this long (at least 3 runs), so a pathologically slow
# backend (e.g. torch on oversubscribed OpenMP threads) cannot stall start-up for minutes.
AUTO_TIMING_BUDGET_S = 0.5

# (default, description, choices-or-None): the shape pm_monitor.core.config_schema.as_spec
# reads. All of them shape what is built at start-up, so a change needs a re-configure.
INFERENCE_PARAMETERS: dict[str, tuple[object, str, tuple[str, ...] | None]] = {
    "backend": ("auto", "Inference backend; auto picks the fastest one that works here "
                "(tensorrt, onnxruntime, torch are tried) and logs why.", BACKENDS),
    "force_engine_update": (False, "Rebuild TensorRT engines (and ONNX exports) even if "
                            "cached; a build can take minutes.", None),
    "engine_cache_dir": ("", "Folder of cached ONNX exports and TensorRT engines; empty = "
                         "$PM_MONITOR_CACHE/inference or ~/.cache/pm_monitor/inference.", None),
    "precision": ("fp16", "TensorRT precision: fp16, fp32, or int8 calibrated on real rig "
                  "windows; ONNX Runtime on CPU always runs fp32.", PRECISIONS),
}


@dataclass(frozen=True)
class InferenceConfig:
    """The default (torch) is the reference behaviour and touches no disk."""

    backend: str = "torch"
    precision: str = "fp16"
    engine_cache_dir: str = ""
    force_engine_update: bool = False
    ort_threads: int = 1  # see docs/sections/inference.md: 1 thread is fastest for these models
    warmup_runs: int = 3

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r} not one of {BACKENDS}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} not one of {PRECISIONS}")
        if self.ort_threads < 1 or self.warmup_runs < 0:
            raise ValueError("ort_threads must be >= 1 and warmup_runs >= 0")

    @classmethod
    def from_parameters(cls, values: Mapping[str, object], ort_threads: int = 1
                        ) -> InferenceConfig:
        """From the node's INFERENCE_PARAMETERS values (missing ones take their defaults);
        ort_threads: e.g. the node's inference_threads, so one knob sets torch and ORT."""
        merged = {name: values.get(name, spec[0]) for name, spec in INFERENCE_PARAMETERS.items()}
        return cls(backend=str(merged["backend"]), precision=str(merged["precision"]),
                   engine_cache_dir=str(merged["engine_cache_dir"]),
                   force_engine_update=bool(merged["force_engine_update"]),
                   ort_threads=int(ort_threads))

    @property
    def cache_dir(self) -> Path:
        if self.engine_cache_dir:
            return Path(self.engine_cache_dir).expanduser()
        root = os.environ.get("PM_MONITOR_CACHE") or Path.home() / ".cache" / "pm_monitor"
        return Path(root) / "inference"


class GuardedRunner:
    """A runner that hands over to torch for good if its backend fails at run time."""

    def __init__(self, runner: Runner, fallback: Callable[[], Runner]) -> None:
        self.current = runner
        self._fallback = fallback
        self.failures: list[str] = []

    @property
    def spec(self) -> ModelSpec:
        return self.current.spec

    @property
    def backend(self) -> str:
        return self.current.backend

    @property
    def device(self) -> str:
        return self.current.device

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.spec.check_inputs(inputs)  # bad input is the caller's error, not the backend's
        try:
            return self.current.run(inputs)
        except Exception as exc:  # any backend failure: report it and keep going on torch
            if self.current.backend == "torch":
                raise
            reason = f"{self.spec.name}: {self.current.backend} failed at run time ({exc!r}); " \
                     "falling back to torch for the rest of this run"
            LOG.error(reason)
            self.failures.append(reason)
            self.current = self._fallback()
            return self.current.run(inputs)


@dataclass
class BuiltRunner:
    runner: GuardedRunner
    report: list[str] = field(default_factory=list)  # what was tried, and why this one


class _Exporter:
    """Exports at most once per build_runner call, and only if a backend needs the file."""

    def __init__(self, spec: ModelSpec, model: nn.Module, config: InferenceConfig) -> None:
        self.spec, self.model, self.config = spec, model, config
        self._result: ExportedModel | None = None

    def __call__(self) -> ExportedModel:
        if self._result is None:
            self._result = export_onnx(self.spec, self.model, self.config.cache_dir,
                                       force=self.config.force_engine_update)
        return self._result


def build_runner(
    spec: ModelSpec,
    model: nn.Module,
    config: InferenceConfig,
    calibration: Callable[[], Sequence[Mapping[str, np.ndarray]]] | None = None,
    available_ort_providers: Sequence[str] | None = None,
) -> BuiltRunner:
    """A warmed-up runner of `model` on config.backend, or on the next backend that works.

    calibration: returns INT8 calibration batches of real inputs (called only when an INT8
    TensorRT engine is actually built). available_ort_providers: for tests; default asks ORT.
    """
    reference = TorchRunner(spec, model)
    exporter = _Exporter(spec, model, config)
    report: list[str] = []
    working: list[tuple[str, Runner]] = []
    for backend in FALLBACK_CHAIN[config.backend]:
        try:
            runner = _create(backend, reference, model, exporter, config, calibration,
                             available_ort_providers)
            _sanity_check(runner, reference, config.precision)
        except (BackendUnavailableError, ExportError) as exc:
            report.append(f"{spec.name}: {backend} unavailable: {exc}")
            continue
        except Exception as exc:  # an optional accelerator must never take the node down
            if backend == "torch":
                raise  # the reference itself is broken: nothing to fall back to
            report.append(f"{spec.name}: {backend} unavailable: unexpected "
                          f"{type(exc).__name__}: {exc}")
            continue
        working.append((backend, runner))
        if config.backend != "auto":
            break
    if config.backend == "auto" and len(working) > 1:
        chosen, timings = _fastest(spec, working)
        table = ", ".join(f"{name} {ms:.3f} ms" for name, ms in timings)
        report.append(f"{spec.name}: auto measured median latency {table} -> "
                      f"{chosen[0]} on {chosen[1].device} (fastest that works here)")
    else:
        chosen = working[0]  # torch closes every chain and always works
        why = "requested" if chosen[0] == config.backend else "first working fallback"
        report.append(f"{spec.name}: using {chosen[0]} on {chosen[1].device} ({why})")
    runner = chosen[1]
    if runner is not reference:  # engines and sessions allocate on first run; eager torch not
        example = spec.example_inputs()
        for _ in range(config.warmup_runs):
            runner.run(example)
    for line in report:
        (LOG.warning if "unavailable" in line else LOG.info)(line)
    return BuiltRunner(GuardedRunner(runner, lambda: reference), report)


def _create(
    backend: str,
    reference: TorchRunner,
    model: nn.Module,
    exporter: _Exporter,
    config: InferenceConfig,
    calibration: Callable[[], Sequence[Mapping[str, np.ndarray]]] | None,
    available_ort_providers: Sequence[str] | None,
) -> Runner:
    if backend == "torch":
        return reference
    if backend == "onnxruntime":
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError(f"onnxruntime is not installed ({exc})") from None
        available = (ort.get_available_providers() if available_ort_providers is None
                     else available_ort_providers)
        providers = ort_provider_chain(available, config.precision, config.cache_dir)
        return OnnxRuntimeRunner(reference.spec, exporter().path, providers, config.ort_threads)
    if backend == "tensorrt":
        # Imported here: this module must load without tensorrt and without CUDA.
        from pm_monitor.core.inference.tensorrt_runner import TensorRTRunner, load_tensorrt

        load_tensorrt()  # fails fast (no export, no calibration) where TensorRT cannot run
        batches = calibration() if (config.precision == "int8" and calibration) else ()
        return TensorRTRunner(exporter(), EngineCache(config.cache_dir), config.precision,
                              config.force_engine_update, batches)
    raise ValueError(f"unknown backend {backend!r}")


def _sanity_check(runner: Runner, reference: TorchRunner, precision: str) -> None:
    if runner is reference:
        return
    example = reference.spec.example_inputs(seed=1)
    try:
        got = runner.run(example)
    except Exception as exc:  # a backend that cannot even run its example is unavailable
        raise BackendUnavailableError(f"running an example input failed: {exc!r}") from exc
    want = reference.run(example)
    # ONNX Runtime runs fp32 except on its TensorRT provider (FP16 enabled there on request).
    reduced = runner.backend == "tensorrt" or runner.device == "TensorrtExecutionProvider"
    tolerance = SANITY_ATOL[precision if reduced else "fp32"]
    for name, expected in want.items():
        # Relative as well as absolute: the anomaly score of a random input can be large.
        excess = np.abs(got[name] - expected) - tolerance * (1.0 + np.abs(expected))
        worst = float(np.max(excess)) if expected.size else 0.0
        if not worst <= 0.0:  # also catches NaN
            diff = float(np.max(np.abs(got[name] - expected)))
            raise BackendUnavailableError(
                f"output {name!r} differs from torch by {diff:.3g} (tolerance {tolerance} "
                "absolute + relative) on an example input"
            )


def _fastest(spec: ModelSpec, working: list[tuple[str, Runner]]
             ) -> tuple[tuple[str, Runner], list[tuple[str, float]]]:
    example = spec.example_inputs()
    timings = []
    for name, runner in working:
        runner.run(example)  # first-run allocations are not what we compare
        laps: list[float] = []
        deadline = time.perf_counter() + AUTO_TIMING_BUDGET_S
        while len(laps) < AUTO_TIMING_RUNS and (len(laps) < 3 or time.perf_counter() < deadline):
            start = time.perf_counter()
            runner.run(example)
            laps.append((time.perf_counter() - start) * 1e3)
        timings.append((name, statistics.median(laps)))
    best = min(range(len(working)), key=lambda i: timings[i][1])
    return working[best], timings
