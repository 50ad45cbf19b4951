"""TorchNetworks: named torch networks behind the NetworkRunner interface (run by name with
named numpy inputs and outputs), for model sets whose networks have no other backend yet.
Each network is a module returning a tensor or a tuple of tensors in `outputs` order (the
export wrappers of pm_monitor.core.inference.wrappers are such modules), so the same names
serve an ONNX Runtime runner later."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TorchNetwork:
    module: nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class TorchNetworks:
    def __init__(self, networks: Mapping[str, TorchNetwork]) -> None:
        self.networks = dict(networks)
        for network in self.networks.values():
            network.module.eval()

    def backend_of(self, model: str) -> str:
        if model not in self.networks:
            raise KeyError(f"no network named {model!r} (have {sorted(self.networks)})")
        return "torch"

    def run(self, model: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        network = self.networks[model]
        feeds = [torch.from_numpy(np.ascontiguousarray(inputs[name])) for name in network.inputs]
        with torch.no_grad():
            out = network.module(*feeds)
        values = out if isinstance(out, tuple) else (out,)
        return {name: value.numpy() for name, value in zip(network.outputs, values, strict=True)}

    def summary(self) -> str:
        return ", ".join(f"{name}=torch(cpu)" for name in self.networks)
