"""Native TensorRT engines through the `tensorrt` Python package (optional, imported lazily).

Buffers are torch CUDA tensors, so no pycuda / cuda-python is needed: a CUDA build of torch
(what Jetson and desktop GPU installs have) and the tensorrt wheel are enough. Engines come
from the EngineCache; building shows TensorRT's own phases as tqdm bars (TensorRT >= 10).

Precision, by TensorRT major version:
- 8.x / 10.x (JetPack 6 ships 10.3): weakly typed builds; FP16 and INT8 are builder flags,
  INT8 scales come from an entropy calibrator fed real data windows.
- 11.x removed those flags and calibrators (strongly typed networks only): FP16 and INT8 come
  from an ONNX graph converted beforehand with NVIDIA ModelOpt (AutoCast for FP16, explicit
  Q/DQ quantisation calibrated on the same real windows for INT8); FP32 needs nothing else.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import torch
from tqdm import tqdm

from pm_monitor.core.inference.engine_cache import (
    EngineBuildError,
    EngineCache,
    EngineKey,
    obtain_engine,
)
from pm_monitor.core.inference.export import ExportedModel, file_sha256
from pm_monitor.core.inference.runners import BackendUnavailableError, prepare_inputs
from pm_monitor.core.inference.specs import ModelSpec

LOG = logging.getLogger("pm_monitor.inference")
PRECISIONS = ("fp32", "fp16", "int8")
WORKSPACE_BYTES = 1 << 30
INSTALL_HINT = "pip install tensorrt-cu12 (matching the CUDA of torch), or use onnxruntime"


def load_tensorrt() -> ModuleType:
    """The tensorrt module, or BackendUnavailableError saying what is missing."""
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the tensorrt Python package is not installed ({exc}); {INSTALL_HINT}"
        ) from None
    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            "tensorrt is installed but torch sees no CUDA device (CPU-only torch build or no GPU)"
        )
    return tensorrt


def calibration_sha256(batches: Sequence[Mapping[str, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for batch in batches:
        for name in sorted(batch):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(batch[name], dtype=np.float32).tobytes())
    return digest.hexdigest()


def engine_key(spec: ModelSpec, onnx_file: Path, tensorrt_version: str, gpu_name: str,
               precision: str, calibration: Sequence[Mapping[str, np.ndarray]] = ()) -> EngineKey:
    profile = json.dumps({c: spec.shapes(c) for c in ("min", "opt", "max")}, sort_keys=True)
    return EngineKey(
        onnx_sha256=file_sha256(onnx_file),
        tensorrt_version=tensorrt_version,
        gpu_name=gpu_name,
        precision=precision,
        profile=profile,
        calibration_sha256=calibration_sha256(calibration) if precision == "int8" else "",
    )


class TensorRTRunner:
    backend = "tensorrt"

    def __init__(
        self,
        exported: ExportedModel,
        cache: EngineCache,
        precision: str = "fp16",
        force_update: bool = False,
        calibration: Sequence[Mapping[str, np.ndarray]] = (),
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} not one of {PRECISIONS}")
        if precision == "int8" and not calibration:
            raise BackendUnavailableError(
                f"{exported.spec.name}: INT8 needs calibration batches of real data windows"
            )
        trt = load_tensorrt()
        self.spec = exported.spec
        self.device = torch.cuda.get_device_name(0)
        self.precision = precision
        key = engine_key(self.spec, exported.path, trt.__version__, self.device, precision,
                         calibration)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)

        def build() -> bytes:
            return build_serialized_engine(trt, self._logger, exported.path, self.spec,
                                           precision, calibration)

        try:
            self.engine, self.how = obtain_engine(
                self.spec.name, key, cache, build, self._runtime.deserialize_cuda_engine,
                force_update,
            )
        except EngineBuildError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        self._output_dtypes = {
            name: _torch_dtype(trt, self.engine.get_tensor_dtype(name))
            for name in self.spec.outputs
        }

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = prepare_inputs(self.spec, inputs)
        with torch.cuda.stream(self.stream):
            device_inputs = {n: torch.from_numpy(a).cuda() for n, a in arrays.items()}
            for name, tensor in device_inputs.items():
                self.context.set_input_shape(name, tuple(tensor.shape))
                self.context.set_tensor_address(name, tensor.data_ptr())
            device_outputs = {}
            for name in self.spec.outputs:
                shape = tuple(self.context.get_tensor_shape(name))
                tensor = torch.empty(shape, dtype=self._output_dtypes[name], device="cuda")
                self.context.set_tensor_address(name, tensor.data_ptr())
                device_outputs[name] = tensor
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError(f"{self.spec.name}: TensorRT execution failed")
            host = {n: t.float().cpu() for n, t in device_outputs.items()}
        self.stream.synchronize()
        return {n: t.numpy() for n, t in host.items()}


def _torch_dtype(trt: ModuleType, dtype: Any) -> torch.dtype:
    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32}
    if dtype not in table:
        raise BackendUnavailableError(f"unsupported TensorRT output dtype {dtype}")
    return table[dtype]


def build_serialized_engine(
    trt: ModuleType,
    logger: Any,
    onnx_file: Path,
    spec: ModelSpec,
    precision: str,
    calibration: Sequence[Mapping[str, np.ndarray]] = (),
) -> bytes:
    """Parse the ONNX file and build an engine with one optimisation profile over the spec's
    dim ranges. Takes seconds to minutes; TensorRT's phases are shown as progress bars."""
    LOG.warning("%s: building a TensorRT %s engine (seconds to minutes, once per GPU/version)",
                spec.name, precision)
    major = int(trt.__version__.split(".")[0])
    strongly_typed = major >= 11
    if strongly_typed and precision != "fp32":
        onnx_file = reduced_precision_onnx(onnx_file, spec, precision, calibration,
                                           trt.__version__)
    builder = trt.Builder(logger)
    flags = 0
    if major < 10:  # explicit batch is the only mode from 10 on
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_file)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"{spec.name}: TensorRT cannot parse {onnx_file}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision in ("fp16", "int8") and not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 layers fall back to FP16, not FP32
    profile = builder.create_optimization_profile()
    low, opt, high = spec.shapes("min"), spec.shapes("opt"), spec.shapes("max")
    for name in spec.input_names:
        profile.set_shape(name, low[name], opt[name], high[name])
    config.add_optimization_profile(profile)
    calibrator = None
    if precision == "int8" and not strongly_typed:
        config.set_flag(trt.BuilderFlag.INT8)
        calibration_profile = builder.create_optimization_profile()
        for name in spec.input_names:
            shape = tuple(calibration[0][name].shape)
            calibration_profile.set_shape(name, shape, shape, shape)
        config.set_calibration_profile(calibration_profile)
        calibrator = _calibrator(trt, spec, calibration)
        config.int8_calibrator = calibrator
    monitor = _progress_monitor(trt, spec.name)
    if monitor is not None:
        config.progress_monitor = monitor
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"{spec.name}: TensorRT built no engine (see its log above)")
    return bytes(serialized)


def reduced_precision_onnx(onnx_file: Path, spec: ModelSpec, precision: str,
                           calibration: Sequence[Mapping[str, np.ndarray]],
                           tensorrt_version: str) -> Path:
    """TensorRT >= 11: the FP16 (AutoCast) or INT8 (Q/DQ, calibrated on `calibration`) graph
    that a strongly typed build turns into a reduced-precision engine. Inputs and outputs stay
    float32, so runners and the cascade see no difference."""
    try:
        if precision == "fp16":
            from modelopt.onnx.autocast import convert_to_mixed_precision
        else:
            from modelopt.onnx.quantization import quantize
    except ImportError as exc:
        raise EngineBuildError(
            f"{spec.name}: TensorRT {tensorrt_version} builds {precision} engines only from a "
            f"converted ONNX graph; install nvidia-modelopt[onnx] or use precision fp32 ({exc})"
        ) from None
    out = onnx_file.with_name(f"{onnx_file.stem}-{precision}.onnx")
    if precision == "fp16":
        model = convert_to_mixed_precision(onnx_path=str(onnx_file), low_precision_type="fp16",
                                           keep_io_types=True)
        onnx.save(model, str(out))
    else:
        data = {name: np.concatenate([batch[name] for batch in calibration]).astype(np.float32)
                for name in spec.input_names}
        quantize(onnx_path=str(onnx_file), quantize_mode="int8", calibration_data=data,
                 calibration_method="entropy", output_path=str(out))
    return out


def _calibrator(trt: ModuleType, spec: ModelSpec,
                batches: Sequence[Mapping[str, np.ndarray]]) -> Any:
    """Entropy calibrator fed the given batches of real inputs (all of one batch size)."""

    class RealDataCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches)
            self._held: dict[str, torch.Tensor] = {}  # keeps device memory alive for TensorRT
            self._bar: tqdm | None = None  # opened when TensorRT asks for the first batch

        def get_batch_size(self) -> int:
            return int(next(iter(batches[0].values())).shape[0])

        def get_batch(self, names: list[str]) -> list[int] | None:
            if self._bar is None:
                self._bar = tqdm(total=len(batches), desc=f"{spec.name}: INT8 calibration")
            batch = next(self._batches, None)
            if batch is None:
                self._bar.close()
                return None
            self._held = {n: torch.from_numpy(np.ascontiguousarray(batch[n], np.float32)).cuda()
                          for n in names}
            self._bar.update(1)
            return [int(self._held[n].data_ptr()) for n in names]

        def read_calibration_cache(self) -> None:
            return None  # the engine cache already keys on the calibration data

        def write_calibration_cache(self, cache: bytes) -> None:
            return None

    return RealDataCalibrator()


def _progress_monitor(trt: ModuleType, name: str) -> Any:
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:  # TensorRT < 10: the warning before the build is all we can show
        return None

    class TqdmProgress(base):
        def __init__(self) -> None:
            base.__init__(self)
            self._bars: dict[str, tqdm] = {}

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            depth = 1 if parent_phase else 0
            self._bars[phase_name] = tqdm(total=num_steps, desc=f"{name}: {phase_name}",
                                          position=depth, leave=depth == 0)

        def step_complete(self, phase_name: str, step: int) -> bool:
            bar = self._bars.get(phase_name)
            if bar is not None:
                bar.update(step + 1 - bar.n)
            return True  # keep building

        def phase_finish(self, phase_name: str) -> None:
            bar = self._bars.pop(phase_name, None)
            if bar is not None:
                bar.close()

    return TqdmProgress()
