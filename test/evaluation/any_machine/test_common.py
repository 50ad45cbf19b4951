"""The any-machine evaluation's shared helpers: decimation as a low-rate sensor sees it."""
import numpy as np
import pytest

from pm_monitor.evaluation.any_machine.common import decimated


def _tone(hz: float, rate: float = 12000.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.sin(2 * np.pi * hz * t)


def test_decimation_keeps_the_band_below_the_new_nyquist_and_does_not_alias():
    kept = decimated(_tone(200.0), 4)  # 12 kHz -> 3 kHz
    assert kept.size == 3000
    assert np.sqrt(np.mean(kept[300:-300] ** 2)) == pytest.approx(1 / np.sqrt(2), rel=0.02)
    # 5 kHz would fold onto 1 kHz at 3 kHz without the anti-aliasing filter
    folded = decimated(_tone(5000.0), 4)
    assert np.sqrt(np.mean(folded[300:-300] ** 2)) < 0.01


def test_decimation_along_an_axis_and_factor_one_is_the_input():
    x = np.stack([_tone(100.0)[:2560], _tone(300.0)[:2560]], axis=1)[None].repeat(3, axis=0)
    assert decimated(x, 10, axis=1).shape == (3, 256, 2)
    assert decimated(x, 1) is x
