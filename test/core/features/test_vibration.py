"""Vibration features on synthetic signals with known answers."""
from pathlib import Path

import numpy as np
import pytest

from pm_monitor.core.features import vibration
from pm_monitor.core.features.bearing_window import BearingWindowConfig, axis_features

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


# Numbers of the trained feature path (rig / real-data / CWRU models), frozen from the
# implementation the shipped models were trained with (commit b054578), before the envelope
# pieces were shared with the physics path (core.condition.envelope): they must not move by a
# single bit.
GOLDEN = Path(__file__).resolve().parents[2] / "fixtures/envelope_trained_features.npz"
FIXTURES = GOLDEN.parent


def _golden_inputs():
    cwru = np.load(FIXTURES / "cwru_shipped_windows.npz")
    femto = np.load(FIXTURES / "femto_shipped_snapshots.npz")
    return cwru, [((2000.0, 5000.0), 12000.0, cwru["windows"][:4]),
                  ((2000.0, 4000.0), 25600.0, femto["snapshots_mg"][:4, :, 0]),
                  ((2000.0, 4000.0), 25600.0, femto["snapshots_mg"][:4, :, 1])]


def test_trained_envelope_spectra_are_bit_identical_to_the_frozen_ones():
    _, inputs = _golden_inputs()
    rows = []
    for band, rate, xs in inputs:
        for x in xs:
            x = np.asarray(x, dtype=np.float64)
            env, bin_hz = vibration.envelope_spectrum(x - x.mean(), rate, band)
            rows.append(np.concatenate([[bin_hz], env[:100]]))
    np.testing.assert_array_equal(np.stack(rows), np.load(GOLDEN)["envelope_spectra"])


def test_trained_bearing_window_features_are_bit_identical_to_the_frozen_ones():
    cwru, _ = _golden_inputs()
    features = np.stack([axis_features(w, 12000.0, rpm / 60.0, BearingWindowConfig())
                         for w, rpm in zip(cwru["windows"], cwru["rpm"], strict=True)])
    np.testing.assert_array_equal(features, np.load(GOLDEN)["cwru_features"])


def test_band_envelope_oversampled_is_the_same_envelope_sampled_finer():
    x = _impulse_train(107.4)
    coarse, coarse_rate = vibration.band_envelope(x, FS, (3000.0, 5000.0))
    fine, fine_rate = vibration.band_envelope(x, FS, (3000.0, 5000.0), oversample=2)
    assert fine_rate >= 2 * coarse_rate - 1e-9
    # zero-padding in frequency interpolates in time: the samples at the coarse instants agree
    # up to the change of scale (n / 2m)
    assert fine.size == 2 * coarse.size  # 2001 band bins: 2025 and 4050 samples
    np.testing.assert_allclose(fine[::2] * 2.0, coarse, rtol=1e-9, atol=1e-12)


def test_amplitude_spectrum_reads_a_sine_amplitude_with_and_without_hann():
    rate, amp, freq = 1000.0, 0.7, 125.0
    x = amp * np.sin(2 * np.pi * freq * np.arange(1000) / rate) + 3.0  # offset removed
    plain, bin_hz = vibration.amplitude_spectrum(x, rate)
    hann, bin_hann = vibration.amplitude_spectrum(x, rate, hann=True, nfft=4096)
    assert plain[round(freq / bin_hz)] == pytest.approx(amp, rel=1e-9)
    assert hann.max() == pytest.approx(amp, rel=1e-3)
    assert abs(np.argmax(hann) * bin_hann - freq) < bin_hann
    assert plain[0] == pytest.approx(0.0, abs=1e-9)
