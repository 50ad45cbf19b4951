"""Vibration features on synthetic signals with known answers."""
import numpy as np
import pytest

from pm_monitor.core.features import vibration

FS = 25_600.0


def _sine(amplitude: float, freq: float, n: int = 25_600) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(n) / FS)


def test_sine_time_domain_stats_match_closed_form():
    rms, peak, crest, kurtosis = vibration.time_domain_stats(_sine(2.0, 100.0))
    assert rms == pytest.approx(2.0 / np.sqrt(2), rel=1e-4)
    assert peak == pytest.approx(2.0, rel=1e-4)
    assert crest == pytest.approx(np.sqrt(2), rel=1e-4)
    assert kurtosis == pytest.approx(1.5, rel=1e-3)  # E[sin^4] / E[sin^2]^2 = 3/8 / 1/4


def test_gaussian_kurtosis_is_three():
    x = np.random.default_rng(0).normal(size=200_000)
    assert vibration.time_domain_stats(x)[3] == pytest.approx(3.0, abs=0.05)


def test_teager_kaiser_of_sine_is_amplitude_squared_times_sin_squared_of_step():
    amplitude, freq = 1.5, 1000.0
    omega = 2 * np.pi * freq / FS
    expected = amplitude**2 * np.sin(omega) ** 2
    assert vibration.teager_kaiser_energy(_sine(amplitude, freq)) == pytest.approx(expected, 1e-3)


def _impulse_train(rate_hz: float, resonance_hz: float = 4000.0, seed: int = 0) -> np.ndarray:
    """Decaying resonance rung at rate_hz, in Gaussian noise: a textbook local bearing defect."""
    n = int(FS)
    t = np.arange(256) / FS
    ring = np.exp(-t * 800.0) * np.sin(2 * np.pi * resonance_hz * t)
    impulses = np.zeros(n)
    impulses[(np.arange(0, 1.0, 1.0 / rate_hz) * FS).astype(int)] = 1.0
    noise = np.random.default_rng(seed).normal(scale=0.05, size=n)
    return np.convolve(impulses, ring)[:n] + noise


def test_envelope_spectrum_peaks_at_the_impulse_rate():
    bpfo = 107.4
    env, bin_hz = vibration.envelope_spectrum(_impulse_train(bpfo), FS, (3000.0, 5000.0))
    assert bin_hz == pytest.approx(1.0)
    search = slice(int(20 / bin_hz), int(400 / bin_hz))
    peak_hz = (np.argmax(env[search]) + search.start) * bin_hz
    assert peak_hz == pytest.approx(bpfo, abs=1.5)


def test_envelope_peak_ratio_separates_defect_frequency_from_others():
    env, bin_hz = vibration.envelope_spectrum(_impulse_train(107.4), FS, (3000.0, 5000.0))
    reference = float(np.median(env[1:1000]))
    at_bpfo = vibration.envelope_peak_ratio(env, bin_hz, 107.4, 1, 0.02, reference)
    at_bpfi = vibration.envelope_peak_ratio(env, bin_hz, 162.2, 1, 0.02, reference)
    assert at_bpfo > 10 * at_bpfi


def test_spectral_kurtosis_flags_transients_not_noise():
    noise = np.random.default_rng(1).normal(size=25_600)
    assert vibration.spectral_kurtosis(noise, FS) < 1.5
    assert vibration.spectral_kurtosis(_impulse_train(107.4), FS) > 3.0
