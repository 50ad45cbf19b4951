"""Turn simulated rig runs into labelled feature sequences and thermal frames.

AnalysisWindows are built directly from the simulator arrays (no ROS), with the same
FeatureExtractor the live node uses; labels are the rig truth at each window's end.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.features import FeatureConfig, FeatureExtractor
from pm_monitor.core.models.bundle import LOCATION_NAMES
from pm_monitor.core.models.thermal_resnet import normalise_thermal_frame
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.types import ACCEL, FAULT_TYPES, MIC, NS_PER_S, THERMAL, HealthState
from pm_monitor.sim import BEARING_LOCATIONS, RigConfig, RigLayout, RigSimulator, RigTruth
from pm_monitor.training.run_plan import RunSpec

THERMAL_FRAME_ID = "thermal_optical"


@dataclass
class RunData:
    """Everything training and evaluation need from one run, window by window (time order)."""

    spec: RunSpec
    t_end_s: np.ndarray  # (N,)
    features: np.ndarray  # (N, D) float32, absent = 0
    present: np.ndarray  # (N, D) bool
    state: np.ndarray  # (N,) int, HealthState
    fault_type: np.ndarray  # (N,) int index into FAULT_TYPES ("none" while NORMAL)
    severity: np.ndarray  # (N,)
    rul_s: np.ndarray  # (N,) NaN on healthy runs
    frame_index: np.ndarray  # (M,) windows whose thermal frame was kept
    frames: np.ndarray  # (M, H, W) float16, normalised by normalise_thermal_frame
    location: np.ndarray  # (M,) int index into LOCATION_NAMES

    def __len__(self) -> int:
        return int(self.t_end_s.size)


WindowCallback = Callable[[AnalysisWindow, RigTruth], None]


def feature_config_for(rig: RigConfig) -> FeatureConfig:
    """Features tuned to the rig only through its nominal data sheet: shaft speed, bearing
    geometry and the housing's structural resonance (the band the impacts excite)."""
    return FeatureConfig(
        shaft_hz=rig.shaft_hz,
        bearing=rig.bearing,
        resonance_band_hz=(rig.resonance_hz - 1000.0, rig.resonance_hz + 1000.0),
    )


def location_masks(config: RigConfig | None = None, layout: RigLayout | None = None) -> np.ndarray:
    """(len(LOCATION_NAMES), H, W) float32: 1 inside each bearing housing's box on the thermal
    frame (the "healthy" entry is all zero)."""
    config, layout = config or RigConfig(), layout or RigLayout()
    masks = np.zeros((len(LOCATION_NAMES), config.thermal_height, config.thermal_width), np.float32)
    for location in BEARING_LOCATIONS:
        box = layout.housing(location).to_pixels(config.thermal_width, config.thermal_height)
        masks[LOCATION_NAMES.index(location)][box.slices] = 1.0
    return masks


def housing_test(
    config: RigConfig | None = None, layout: RigLayout | None = None
) -> Callable[[str, tuple[int, int]], bool]:
    """is_inside(location, (x, y)): does a thermal pixel lie in that bearing housing's box?"""
    config, layout = config or RigConfig(), layout or RigLayout()
    boxes = {
        location: layout.housing(location).to_pixels(config.thermal_width, config.thermal_height)
        for location in BEARING_LOCATIONS
    }

    def is_inside(location: str, xy: tuple[int, int]) -> bool:
        return boxes[location].contains(*xy)

    return is_inside


def rig_window(
    simulator: RigSimulator, t_end_s: float, window_s: float, frame_id: str = THERMAL_FRAME_ID
) -> AnalysisWindow:
    """The AnalysisWindow the synchroniser would hand over for the window ending at t_end_s."""
    t_end_ns = round(t_end_s * NS_PER_S)
    streams = {}
    config = simulator.config
    for name, rate, read, channels in (
        (ACCEL, config.accel_rate, simulator.accel, config.accel_channels),
        (MIC, config.mic_rate, simulator.mic, ("mic",)),
    ):
        n = round(window_s * rate)
        start = round(t_end_s * rate) - n
        samples = np.asarray(read(start, n), dtype=np.float32)
        streams[name] = StreamWindow(
            samples, rate, channels, t_end_ns - round(window_s * NS_PER_S), np.ones(n, bool)
        )
    frame = FrameSample(t_end_ns, np.asarray(simulator.thermal(t_end_s), np.float32), frame_id)
    return AnalysisWindow(t_end_ns, window_s, streams, {THERMAL: frame})


def generate_run(
    spec: RunSpec,
    extractor: FeatureExtractor,
    window_s: float,
    hop_s: float,
    frame_every: int,
    thermal_scale_k: float,
    on_window: WindowCallback | None = None,
    config: RigConfig | None = None,
) -> RunData:
    """Simulate one run and extract features for every hop; keep every frame_every-th frame.

    on_window(window, truth) is called for every window (used to stream held-out runs through
    the cascade while they are generated, so nothing needs to be simulated twice).
    """
    simulator = RigSimulator(config or RigConfig(), spec.schedule, spec.seed)
    t_ends = np.arange(window_s, spec.duration_s + 1e-9, hop_s)
    n, d = t_ends.size, extractor.n_features
    data = RunData(
        spec=spec,
        t_end_s=t_ends,
        features=np.zeros((n, d), np.float32),
        present=np.zeros((n, d), bool),
        state=np.zeros(n, np.int64),
        fault_type=np.zeros(n, np.int64),
        severity=np.zeros(n),
        rul_s=np.full(n, np.nan),
        frame_index=np.arange(0, n, frame_every),
        frames=np.zeros((len(range(0, n, frame_every)), 0, 0), np.float16),
        location=np.zeros(len(range(0, n, frame_every)), np.int64),
    )
    frames = []
    for i, t_end in enumerate(t_ends):
        window = rig_window(simulator, float(t_end), window_s)
        truth = simulator.truth(float(t_end))
        data.features[i], data.present[i] = extractor.extract(window)
        state = HealthState(int(truth.state))
        data.state[i] = int(state)
        data.severity[i] = float(truth.severity)
        if truth.rul_s is not None:
            data.rul_s[i] = float(truth.rul_s)
        # The fault type is only asked for once the fault matters (state above NORMAL); the
        # cascade reports "none" for NORMAL windows too.
        faulty = state != HealthState.NORMAL and truth.fault_location is not None
        data.fault_type[i] = FAULT_TYPES.index(truth.fault_type) if faulty else 0
        if i % frame_every == 0:
            image = window.frames[THERMAL].image
            frames.append(normalise_thermal_frame(image, thermal_scale_k).astype(np.float16))
            location = truth.fault_location if faulty else "healthy"
            data.location[i // frame_every] = LOCATION_NAMES.index(location)
        if on_window is not None:
            on_window(window, truth)
    data.frames = np.stack(frames)
    return data
