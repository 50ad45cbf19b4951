"""What the export and backend layer needs to know about a model: a ModelSpec.

A spec names the graph's inputs (with their shapes; a string dimension is dynamic, e.g.
"batch"), its outputs, the range of every dynamic dimension (TensorRT optimisation profiles:
min / opt / max) and the wrapper that turns the torch model into the exported graph. Everything
else (export, caching, backends, parity checks) is generic over specs.

Adding a model (e.g. the deep RUL model, inputs as in pm_monitor/training/rul_network/network.py)
takes one spec, and a wrapper only if the graph should carry post-processing:

    RUL_SPEC = ModelSpec(
        name="rul_femto",
        inputs=(TensorSpec("images", ("batch", 6, 64, 64)),
                TensorSpec("features", ("batch", 6, 7))),
        outputs=("rul_normalised",),
        wrap=lambda model: model,
        dim_ranges={"batch": (1, 1, 32)},
    )
    runner = build_runner(RUL_SPEC, model, InferenceConfig(backend="auto")).runner
    rul = runner.run({"images": images, "features": features})["rul_normalised"]
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from torch import nn

from pm_monitor.core.inference.wrappers import (
    AnomalyExport,
    CameraCamExport,
    SpectrogramErrorExport,
    Stage1Export,
    ThermalCamExport,
)

ShapeChoice = Literal["min", "opt", "max"]
_CHOICE_INDEX = {"min": 0, "opt": 1, "max": 2}
_DTYPES = {"float32": np.float32}

# Thermal frames of the rig camera; other sizes work on torch / ONNX Runtime and within the
# TensorRT profile range below.
DEFAULT_FRAME_HW = (120, 160)
MAX_BATCH = 32


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | str, ...]  # int: fixed; str: a dynamic dimension's name
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ValueError(f"{self.name}: dtype {self.dtype!r} not one of {sorted(_DTYPES)}")

    @property
    def numpy_dtype(self) -> type[np.generic]:
        return _DTYPES[self.dtype]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[str, ...]
    wrap: Callable[[nn.Module], nn.Module]  # torch model -> module whose outputs match `outputs`
    dim_ranges: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    opset: int = 17
    variant: str = ""  # which graph `wrap` builds when it has options (part of cache keys)

    def __post_init__(self) -> None:
        for tensor in self.inputs:
            for dim in tensor.shape:
                if isinstance(dim, str) and dim not in self.dim_ranges:
                    raise ValueError(f"{self.name}: dynamic dim {dim!r} has no range")
        for dim, (low, opt, high) in self.dim_ranges.items():
            if not 1 <= low <= opt <= high:
                raise ValueError(f"{self.name}: range of {dim!r} needs 1 <= min <= opt <= max")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(tensor.name for tensor in self.inputs)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """torch.onnx.export's dynamic_axes (inputs only; output axes follow from the graph)."""
        return {
            tensor.name: {i: dim for i, dim in enumerate(tensor.shape) if isinstance(dim, str)}
            for tensor in self.inputs
        }

    def shapes(self, choice: ShapeChoice = "opt", **fixed: int) -> dict[str, tuple[int, ...]]:
        """Concrete input shapes with every dynamic dim at its min / opt / max (or `fixed`)."""
        index = _CHOICE_INDEX[choice]
        sizes = {dim: fixed.get(dim, bounds[index]) for dim, bounds in self.dim_ranges.items()}
        return {
            tensor.name: tuple(sizes[d] if isinstance(d, str) else d for d in tensor.shape)
            for tensor in self.inputs
        }

    def example_inputs(self, seed: int = 0, **fixed: int) -> dict[str, np.ndarray]:
        """Random inputs at the opt shapes (export tracing, warm-up, a quick sanity check)."""
        rng = np.random.default_rng(seed)
        shapes = self.shapes("opt", **fixed)
        return {
            t.name: rng.standard_normal(shapes[t.name]).astype(t.numpy_dtype)
            for t in self.inputs
        }

    def signature(self) -> str:
        """Everything about the graph's interface, as text for cache keys."""
        return json.dumps({
            "name": self.name,
            "inputs": [[t.name, list(t.shape), t.dtype] for t in self.inputs],
            "outputs": list(self.outputs),
            "dim_ranges": {k: list(v) for k, v in sorted(self.dim_ranges.items())},
            "opset": self.opset,
            "variant": self.variant,
        }, sort_keys=True)

    def check_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        """Clear error for missing inputs or shapes that contradict the spec."""
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise ValueError(f"{self.name}: missing inputs {sorted(missing)}")
        for tensor in self.inputs:
            shape = np.shape(inputs[tensor.name])
            if len(shape) != len(tensor.shape) or any(
                isinstance(d, int) and d != s for d, s in zip(tensor.shape, shape, strict=True)
            ):
                raise ValueError(
                    f"{self.name}: input {tensor.name!r} has shape {shape}, expected {tensor.shape}"
                )


def stage1_spec(sequence_length: int, n_features: int, name: str = "stage1") -> ModelSpec:
    """HealthStateBiLSTM (rig Stage 1, FEMTO Stage 1)."""
    return ModelSpec(
        name=name,
        inputs=(TensorSpec("sequence", ("batch", sequence_length, n_features)),),
        outputs=("state_probabilities", "fault_probabilities", "attention"),
        wrap=Stage1Export,
        dim_ranges={"batch": (1, 1, MAX_BATCH)},
    )


def anomaly_spec(n_features: int, name: str = "anomaly") -> ModelSpec:
    """FeatureAutoencoder (rig anomaly model, FEMTO feature autoencoder)."""
    return ModelSpec(
        name=name,
        inputs=(
            TensorSpec("features", ("batch", n_features)),
            TensorSpec("present", ("batch", n_features)),  # 1.0 measured, 0.0 absent
        ),
        outputs=("anomaly_score",),
        wrap=AnomalyExport,
        dim_ranges={"batch": (1, 1, MAX_BATCH)},
    )


def thermal_spec(frame_hw: tuple[int, int] = DEFAULT_FRAME_HW, name: str = "thermal",
                 cam_at_input: bool = True) -> ModelSpec:
    """ThermalResNet: the rig's localiser or the thermal_motor classifier.

    frame_hw: the model input's usual size (TensorRT's optimum; other sizes work).
    cam_at_input: `cam` upsampled to the input and scaled (rig: the input is the frame); else
    at feature resolution for `cam_heatmap` (thermal_motor: the input is a downscaled frame)."""
    height, width = frame_hw
    return ModelSpec(
        name=name,
        inputs=(TensorSpec("image", ("batch", 1, "height", "width")),),
        outputs=("location_probabilities", "spatial_attention", "cam"),
        wrap=functools.partial(ThermalCamExport, cam_at_input=cam_at_input),
        variant="cam_at_input" if cam_at_input else "cam_at_features",
        dim_ranges={
            "batch": (1, 1, MAX_BATCH),
            "height": (32, height, max(height, 480)),
            "width": (32, width, max(width, 640)),
        },
    )


def camera_spec(image_size: int, name: str = "camera") -> ModelSpec:
    """CameraDefectNet (NEU): the frame is resized to image_size square before the network."""
    return ModelSpec(
        name=name,
        inputs=(TensorSpec("image", ("batch", 1, image_size, image_size)),),
        outputs=("location_probabilities", "cam"),
        wrap=CameraCamExport,
        dim_ranges={"batch": (1, 1, MAX_BATCH)},
    )


def acoustic_spec(n_bands: int, n_frames: int, name: str = "acoustic") -> ModelSpec:
    """SpectrogramAutoencoder (MIMII): per-patch reconstruction error of log-mel patches."""
    return ModelSpec(
        name=name,
        inputs=(TensorSpec("patches", ("batch", 1, n_bands, n_frames)),),
        outputs=("patch_error",),
        wrap=SpectrogramErrorExport,
        dim_ranges={"batch": (1, 1, MAX_BATCH)},
    )
