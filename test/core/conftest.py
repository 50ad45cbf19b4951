"""Shared by the core tests: synthetic bearing vibration (pm_monitor.core.condition and the
physics model set)."""
from __future__ import annotations

import numpy as np
import pytest


def bearing_signal(rate_hz: float, seconds: float, defect_hz: float | None, shaft_hz: float,
                   impact_g: float = 1.0, noise_g: float = 0.05, resonance_hz: float = 3000.0,
                   shaft_modulation: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rate_hz * seconds)
    t = np.arange(n) / rate_hz
    x = noise_g * rng.standard_normal(n) + 0.02 * np.sin(2 * np.pi * shaft_hz * t)
    if defect_hz:
        ring_t = np.arange(int(0.004 * rate_hz)) / rate_hz
        ring = np.exp(-2 * np.pi * 0.05 * resonance_hz * ring_t) * np.sin(
            2 * np.pi * resonance_hz * ring_t)
        impacts = np.zeros(n)
        times = np.arange(0.0, seconds, 1.0 / defect_hz)
        times = times + rng.normal(0, 0.005 / defect_hz, times.size)  # slip
        idx = np.clip((times * rate_hz).astype(int), 0, n - 1)
        gain = 1.0 + shaft_modulation * np.cos(2 * np.pi * shaft_hz * times)
        np.add.at(impacts, idx, impact_g * gain)
        x += np.convolve(impacts, ring)[:n]
    return x


@pytest.fixture(name="bearing_signal")
def bearing_signal_fixture():
    """Impacts at a defect rate ringing a resonance in noise (see `bearing_signal`)."""
    return bearing_signal
