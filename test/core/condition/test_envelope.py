import pytest

from pm_monitor.core.condition.envelope import envelope_spectrum, min_rate_hz, select_band


def test_kurtogram_finds_the_resonance_the_impacts_ring(bearing_signal):
    x = bearing_signal(20000.0, 1.0, defect_hz=107.0, shaft_hz=30.0, resonance_hz=6000.0,
                       noise_g=0.3)
    band = select_band(x, 20000.0, min_bandwidth_hz=1500.0)
    assert band.low_hz <= 6000.0 <= band.high_hz
    assert band.kurtosis > 0.5


def test_envelope_spectrum_peaks_at_the_defect_rate(bearing_signal):
    x = bearing_signal(20000.0, 1.0, defect_hz=107.0, shaft_hz=30.0, noise_g=0.2)
    band = select_band(x, 20000.0, min_bandwidth_hz=1500.0)
    spec = envelope_spectrum(x, 20000.0, band, max_freq_hz=500.0)
    peak = spec.freqs_hz[spec.amplitude[spec.freqs_hz > 50].argmax() + (spec.freqs_hz <= 50).sum()]
    assert abs(peak - 107.0) < 2.0


def test_the_band_respects_width_and_nyquist(bearing_signal):
    x = bearing_signal(12000.0, 0.5, defect_hz=107.0, shaft_hz=30.0, resonance_hz=5300.0)
    band = select_band(x, 12000.0, min_bandwidth_hz=1000.0, min_low_hz=500.0)
    assert band.high_hz - band.low_hz >= 999.0
    assert band.low_hz >= 500.0 and band.high_hz <= 0.45 * 12000.0


def test_below_the_rate_its_band_needs_no_band_is_made_up(bearing_signal):
    # a 1000 Hz band above 500 Hz needs 1500 Hz below 0.45 x the rate: 3333 Hz
    assert min_rate_hz(1000.0, min_low_hz=500.0) == pytest.approx(1500.0 / 0.45)
    x = bearing_signal(3200.0, 0.5, defect_hz=107.0, shaft_hz=30.0, resonance_hz=1000.0)
    with pytest.raises(ValueError, match="no demodulation band of >= 1000 Hz"):
        select_band(x, 3200.0, min_bandwidth_hz=1000.0)
    y = bearing_signal(3400.0, 0.5, defect_hz=107.0, shaft_hz=30.0, resonance_hz=1000.0)
    band = select_band(y, 3400.0, min_bandwidth_hz=1000.0)
    assert band.low_hz >= 500.0 and band.high_hz <= 0.45 * 3400.0 + 1e-9
