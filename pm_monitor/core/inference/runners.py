"""Runners: one model on one backend, numpy in, numpy out, names from the ModelSpec.

Every runner answers run({input name: array}) -> {output name: array}; the cascade and the
benchmarks never see which backend is behind it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from pm_monitor.core.inference.specs import ModelSpec

ORT_CPU = "CPUExecutionProvider"
ORT_CUDA = "CUDAExecutionProvider"
ORT_TENSORRT = "TensorrtExecutionProvider"


class BackendUnavailableError(RuntimeError):
    """This backend cannot run this model here; the message says why (for logs)."""


class Runner(Protocol):
    spec: ModelSpec
    backend: str  # torch | onnxruntime | tensorrt
    device: str  # e.g. "cpu", "CPUExecutionProvider", "NVIDIA H200"

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def prepare_inputs(spec: ModelSpec, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    spec.check_inputs(inputs)
    return {
        t.name: np.ascontiguousarray(inputs[t.name], dtype=t.numpy_dtype) for t in spec.inputs
    }


class TorchRunner:
    """The reference: the export wrapper run eagerly by torch."""

    backend = "torch"

    def __init__(self, spec: ModelSpec, model: nn.Module) -> None:
        self.spec = spec
        self.module = spec.wrap(model).eval()
        self.device = "cpu"

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = prepare_inputs(self.spec, inputs)
        with torch.no_grad():
            out = self.module(*(torch.from_numpy(arrays[n]) for n in self.spec.input_names))
        outputs = out if isinstance(out, tuple) else (out,)
        return {
            name: value.numpy() for name, value in zip(self.spec.outputs, outputs, strict=True)
        }


def ort_provider_chain(available: Sequence[str], precision: str, cache_dir: Path | None
                       ) -> list[str | tuple[str, dict[str, str]]]:
    """The execution providers to ask for, fastest first; ORT assigns each node to the first
    provider that supports it, so CPU always closes the chain."""
    chain: list[str | tuple[str, dict[str, str]]] = []
    if ORT_TENSORRT in available:
        options = {"trt_fp16_enable": str(precision == "fp16"),
                   "trt_int8_enable": "False"}  # INT8 calibration lives in the native backend
        if cache_dir is not None:
            options |= {"trt_engine_cache_enable": "True",
                        "trt_engine_cache_path": str(Path(cache_dir) / "ort_trt")}
        chain.append((ORT_TENSORRT, options))
    if ORT_CUDA in available:
        chain.append(ORT_CUDA)
    chain.append(ORT_CPU)
    return chain


class OnnxRuntimeRunner:
    """An ONNX Runtime session on the given providers (default: CPU)."""

    backend = "onnxruntime"

    def __init__(
        self,
        spec: ModelSpec,
        onnx_file: Path | str,
        providers: Sequence[str | tuple[str, dict[str, str]]] = (ORT_CPU,),
        intra_op_threads: int = 1,
    ) -> None:
        import onnxruntime as ort  # imported here: the torch-only path must not need it

        self.spec = spec
        options = ort.SessionOptions()
        # Small graphs: one thread avoids pool wake-ups that cost more than the math, and
        # leaves the other core to feature extraction and the ROS executor.
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only; fallbacks are reported by us
        try:
            self.session = ort.InferenceSession(
                str(onnx_file), options, providers=list(providers)
            )
        except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, ...)
            raise BackendUnavailableError(
                f"{spec.name}: ONNX Runtime cannot load {onnx_file}: {exc}"
            ) from exc
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(spec.input_names):
            raise BackendUnavailableError(
                f"{spec.name}: {onnx_file} has inputs {names}, spec expects {spec.input_names}"
            )
        self.device = self.session.get_providers()[0]

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = self.session.run(list(self.spec.outputs), prepare_inputs(self.spec, inputs))
        return dict(zip(self.spec.outputs, values, strict=True))
