"""Thermal frame features: overall level and how much one spot stands out."""
from __future__ import annotations

import numpy as np


def thermal_stats(frame_c: np.ndarray) -> tuple[float, float, float]:
    """(max, mean, hotspot contrast = max - median) of a thermal frame in deg C.

    The contrast ignores ambient drift that moves the whole frame; a heating bearing raises it.
    """
    frame = np.asarray(frame_c, dtype=np.float32)
    peak = float(frame.max())
    return peak, float(frame.mean()), peak - float(np.median(frame))
