"""Stage 2 localiser: one image network + Grad-CAM over one frame -> a Localization.

The same block serves the rig's thermal localiser and the real-data thermal / camera models.
With a torch backend the map is Grad-CAM on torch autograd (`torch_model.gradcam_layer`);
with another backend it comes from the exported graph's CAM output, upsampled to the frame by
`cam_heatmap` (identical maps, see pm_monitor/core/inference/wrappers.py), through the model
set's NetworkRunner.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from pm_monitor.core.cascade import Localization
from pm_monitor.core.explain.gradcam import grad_cam, hotspot_and_region
from pm_monitor.core.inference.wrappers import cam_heatmap
from pm_monitor.core.stages.contract import InputRefusedError, NetworkRunner
from pm_monitor.core.sync.window import FrameSample


class ImageLocalizer:
    """network: the runner's name for it; preprocess: the frame's image -> the (H, W) float32
    the network takes (raises ValueError for a frame it cannot take); class_names: its
    outputs; heatmap_classes: the classes the map may show (e.g. the rig shows the most likely
    bearing also when the frame looks healthy: "where would it be" is still useful); None =
    the predicted class. network_input: preprocess's output -> the graph's image, where the
    torch model takes more than the network (e.g. a whole frame it downscales itself); the map
    always has preprocess's output size."""

    def __init__(self, name: str, modality: str, network: str, networks: NetworkRunner,
                 torch_model: nn.Module, preprocess: Callable[[np.ndarray], np.ndarray],
                 class_names: tuple[str, ...], heatmap_classes: tuple[str, ...] | None = None,
                 region_fraction: float = 0.5,
                 network_input: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.name, self.modality, self.network = name, modality, network
        self.networks = networks
        self.torch_model = torch_model
        self.preprocess = preprocess
        self.class_names = class_names
        self.candidates = (None if heatmap_classes is None else
                           [class_names.index(c) for c in heatmap_classes])
        self.region_fraction = region_fraction
        self.network_input = network_input

    @property
    def required_inputs(self) -> tuple[str, ...]:
        return (self.modality,)

    def localize(self, frame: FrameSample) -> Localization:
        try:
            image = self.preprocess(frame.image)
        except ValueError as err:
            raise InputRefusedError(self.modality, str(err)) from None
        if self.networks.backend_of(self.network) == "torch":
            try:
                cam = grad_cam(self.torch_model, self.torch_model.gradcam_layer,
                               torch.from_numpy(image)[None, None],
                               region_fraction=self.region_fraction,
                               candidates=self.candidates)
            except ValueError as err:  # a frame the network's own preprocessing refuses
                raise InputRefusedError(self.modality, str(err)) from None
            probabilities, heatmap = cam.probabilities, cam.heatmap
            hotspot_xy, region = cam.hotspot_xy, cam.region
        else:
            try:
                graph_image = image if self.network_input is None else self.network_input(image)
            except ValueError as err:  # a frame the network's preprocessing refuses
                raise InputRefusedError(self.modality, str(err)) from None
            # The graph returns every class's CAM: take the one grad_cam would explain.
            out = self.networks.run(self.network, {"image": graph_image[None, None]})
            probabilities = out["location_probabilities"][0]
            pool = self.candidates if self.candidates is not None else range(len(probabilities))
            target = max(pool, key=lambda i: float(probabilities[i]))
            heatmap = cam_heatmap(out["cam"][0, target], image.shape[:2])
            hotspot_xy, region = hotspot_and_region(heatmap, self.region_fraction)
        predicted = int(np.argmax(probabilities))
        return Localization(modality=self.modality, frame_id=frame.frame_id, heatmap=heatmap,
                            hotspot_xy=hotspot_xy, region=region,
                            location=self.class_names[predicted],
                            confidence=float(probabilities[predicted]))
