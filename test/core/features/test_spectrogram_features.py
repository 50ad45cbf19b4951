"""Log-(mel-)spectrogram features against analytic signals."""
import numpy as np
import pytest

from pm_monitor.core.features.spectrogram import (
    SpectrogramConfig,
    log_mel_spectrogram,
    log_spectrogram,
    mel_filterbank,
)

RATE = 16000


def _sine(freq_hz: float, amplitude: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def test_shape_follows_n_fft_and_50_percent_overlap():
    spectrogram = log_spectrogram(np.zeros(10 * RATE) + 1e-3, n_fft=2048, hop=1024)
    assert spectrogram.shape == ((10 * RATE - 2048) // 1024 + 1, 1025)


def test_sine_peaks_at_its_bin_and_power_matches_parseval():
    freq = 1000.0  # exactly bin 128 at n_fft 2048, 16 kHz
    spectrogram = log_spectrogram(_sine(freq, 0.5), n_fft=2048, hop=1024)
    assert np.all(np.argmax(spectrogram, axis=1) == 128)
    power = 10 ** (spectrogram.astype(np.float64) / 10)
    # one-sided bins (DC and Nyquist are empty here): mean power = 2 * sum / n_fft
    mean_power = 2 * power.sum(axis=1) / 2048
    np.testing.assert_allclose(mean_power, 0.5 ** 2 / 2, rtol=1e-3)  # a sine's RMS^2


def test_louder_sine_is_6_db_higher():
    quiet = log_spectrogram(_sine(440.0, 0.1))
    loud = log_spectrogram(_sine(440.0, 0.2))
    assert loud.max() - quiet.max() == pytest.approx(20 * np.log10(2), abs=0.01)


def test_mel_filterbank_triangles_sum_to_one_and_cover_in_order():
    filters = mel_filterbank(RATE, 2048, 64, 50.0, 8000.0)
    assert filters.shape == (64, 1025)
    np.testing.assert_allclose(filters.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(np.diff(np.argmax(filters, axis=1)) >= 0)


def test_log_mel_puts_a_tone_in_the_band_around_it():
    config = SpectrogramConfig()
    banded = log_mel_spectrogram(_sine(2000.0, 0.5, 2.0), config)
    filters = mel_filterbank(RATE, 2048, 64, 50.0, 8000.0)
    assert banded.shape[0] == 64
    assert np.argmax(banded[:, 0]) == np.argmax(filters[:, 256])  # bin of 2 kHz


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="shorter than n_fft"):
        log_spectrogram(np.zeros(100))
    with pytest.raises(ValueError, match="1-D"):
        log_spectrogram(np.zeros((2, 4096)))
    with pytest.raises(ValueError, match="NaN"):
        log_spectrogram(np.full(4096, np.nan))
    with pytest.raises(ValueError, match="Nyquist"):
        mel_filterbank(RATE, 2048, 64, 50.0, 9000.0)
    with pytest.raises(ValueError, match="empty"):
        mel_filterbank(RATE, 64, 64, 0.0, 8000.0)
