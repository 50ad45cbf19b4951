"""Grad-CAM (Selvaraju et al. 2017) on a conv layer, written here with forward / tensor hooks.

L = ReLU(sum_k alpha_k A_k), alpha_k = spatial mean of d y_c / d A_k ([P1], eq. 16),
upsampled to the input size and scaled to [0, 1].
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual torch alias)
from scipy import ndimage
from torch import nn


@dataclass(frozen=True)
class GradCamResult:
    heatmap: np.ndarray  # (H, W) float32 in [0, 1], at the input's size
    hotspot_xy: tuple[int, int]  # (column, row) of the heatmap maximum
    region: tuple[int, int, int, int]  # (x, y, w, h) around the hotspot's blob
    probabilities: np.ndarray  # softmax of the model's logits
    target_class: int


def grad_cam(
    model: nn.Module,
    layer: nn.Module,
    image: torch.Tensor,
    target_class: int | None = None,
    region_fraction: float = 0.5,
    candidates: Sequence[int] | None = None,
) -> GradCamResult:
    """Grad-CAM of `layer` for one image (1, C, H, W).

    The explained class is target_class, else the most likely of `candidates`, else the
    predicted class; one forward pass serves both the prediction and the heatmap.
    `model(image)` must return the logits first (a tensor or a tuple whose [0] is the logits).
    """
    captured: dict[str, torch.Tensor] = {}

    def keep_activation(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        captured["activation"] = output

    # torch.autograd.grad, not a tensor hook + backward(): a hook closing over the dict that
    # holds its own tensor forms a cycle through autograd's C++ graph that Python's collector
    # cannot see (measured: +0.3 MB leaked per call); autograd.grad also leaves the
    # parameters' .grad untouched.
    handle = layer.register_forward_hook(keep_activation)
    try:
        with torch.enable_grad():
            # an input that requires grad makes the activation differentiable even when the
            # model's parameters are frozen
            output = model(image.detach().requires_grad_(True))
            logits = output[0] if isinstance(output, tuple) else output
            target = _pick_target(logits[0].detach(), target_class, candidates)
            if "activation" not in captured:
                raise ValueError("the Grad-CAM layer was not used in the forward pass")
            (gradient,) = torch.autograd.grad(logits[0, target], captured["activation"])
    finally:
        handle.remove()
    activation = captured.pop("activation").detach()[0]  # (K, h, w)
    weights = gradient[0].mean(dim=(1, 2))  # alpha_k
    cam = torch.relu((weights[:, None, None] * activation).sum(dim=0))
    cam = F.interpolate(
        cam[None, None], size=image.shape[-2:], mode="bilinear", align_corners=False
    )
    heatmap = cam[0, 0].numpy().astype(np.float32)
    peak = float(heatmap.max())
    heatmap = heatmap / peak if peak > 0 else np.zeros_like(heatmap)
    heatmap = np.clip(heatmap, 0.0, 1.0)
    hotspot_xy, region = hotspot_and_region(heatmap, region_fraction)
    probabilities = torch.softmax(logits.detach()[0], dim=-1).numpy()
    return GradCamResult(heatmap, hotspot_xy, region, probabilities, target)


def _pick_target(
    logits: torch.Tensor, target_class: int | None, candidates: Sequence[int] | None
) -> int:
    if target_class is not None:
        return target_class
    if candidates:
        return max(candidates, key=lambda i: float(logits[i]))
    return int(logits.argmax())


def hotspot_and_region(
    heatmap: np.ndarray, fraction: float = 0.5
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Maximum of the heatmap and the bounding box (x, y, w, h) of the connected blob around it
    where the heatmap is >= fraction x max (other blobs are separate candidate regions)."""
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    peak = float(heatmap[row, col])
    if peak <= 0.0:
        return (int(col), int(row)), (int(col), int(row), 1, 1)
    labels, _ = ndimage.label(heatmap >= fraction * peak)
    rows, cols = np.nonzero(labels == labels[row, col])
    x0, y0 = int(cols.min()), int(rows.min())
    return (int(col), int(row)), (x0, y0, int(cols.max()) - x0 + 1, int(rows.max()) - y0 + 1)


def named_layer(model: nn.Module, layer_name: str) -> nn.Module:
    """The submodule called layer_name (dotted path, as in model.named_modules()); a clear
    error listing the conv layers when it does not exist."""
    try:
        return model.get_submodule(layer_name)
    except AttributeError as err:
        convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        raise ValueError(f"{type(model).__name__} has no layer {layer_name!r}; "
                         f"conv layers: {convs}") from err


def grad_cam_by_name(
    model: nn.Module,
    layer_name: str,
    image: torch.Tensor,
    target_class: int | None = None,
    region_fraction: float = 0.5,
    candidates: Sequence[int] | None = None,
) -> GradCamResult:
    """grad_cam on any CNN, its target layer given by name (e.g. "layer4" of a ResNet)."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image (1, C, H, W), got shape {tuple(image.shape)}")
    return grad_cam(model, named_layer(model, layer_name), image, target_class,
                    region_fraction, candidates)
