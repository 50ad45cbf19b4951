"""Input perturbations of paper 002's robustness test, in units of the min-max-normalised
window (so sigma 0.03 means 3 % of the window's peak-to-peak range)."""
from __future__ import annotations

import numpy as np

NOISE_KINDS = ("gaussian", "uniform", "salt_pepper")
GAUSSIAN_SIGMA = 0.03
UNIFORM_HALF_WIDTH = 0.05  # std 0.029, about the Gaussian's
SALT_PEPPER_FRACTION = 0.02  # half of them to the window's minimum, half to its maximum


def perturb(window: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A noisy copy of a 1-D window (same units as the input)."""
    window = np.asarray(window, dtype=np.float64)
    low, high = float(window.min()), float(window.max())
    span = high - low
    if kind == "gaussian":
        return window + rng.normal(0.0, GAUSSIAN_SIGMA, window.shape) * span
    if kind == "uniform":
        return window + rng.uniform(-UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH, window.shape) * span
    if kind == "salt_pepper":
        noisy = window.copy()
        hit = rng.random(window.shape) < SALT_PEPPER_FRACTION
        salt = rng.random(window.shape) < 0.5
        noisy[hit & salt] = high
        noisy[hit & ~salt] = low
        return noisy
    raise ValueError(f"unknown noise kind {kind!r}; choose from {NOISE_KINDS}")
