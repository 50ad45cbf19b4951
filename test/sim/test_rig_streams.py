"""Accelerometer and microphone: continuity, determinism and the physics the monitor needs."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault

CONFIG = RigConfig()
NOISELESS = RigConfig(accel_noise_rms=0.0, mic_noise_rms=0.0)
RESONANCE_BAND_HZ = (2000.0, 4500.0)  # around the 3 kHz housing resonance


def _schedule(fault_type="outer_race", location="de_bearing", onset_s=0.0, failure_s=100.0):
    return FaultSchedule((ScheduledFault(fault_type, location, onset_s, failure_s),))


def _index_of_severity(schedule, severity, rate):
    """First sample index at which the (single) fault reaches `severity`."""
    fault = schedule.faults[0]
    u = np.log1p(severity * np.expm1(fault.growth)) / fault.growth
    return int((fault.onset_s + u * fault.duration_s) * rate)


def _band_pass(x, rate, band=RESONANCE_BAND_HZ):
    sos = signal.butter(4, band, btype="bandpass", fs=rate, output="sos")
    return signal.sosfiltfilt(sos, x)


def _envelope_spectrum(x, rate):
    """Magnitude spectrum of the Hilbert envelope of the resonance band (envelope analysis)."""
    envelope = np.abs(signal.hilbert(_band_pass(x, rate)))
    envelope -= envelope.mean()
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(envelope.size)))
    return np.fft.rfftfreq(envelope.size, 1.0 / rate), spectrum


def _prominence(freqs, spectrum, f_hz):
    """Envelope spectrum near f_hz relative to the median 10-500 Hz level."""
    near = np.abs(freqs - f_hz) <= 1.0
    band = (freqs > 10.0) & (freqs < 500.0)
    return spectrum[near].max() / np.median(spectrum[band])


def _accel_at_severity(schedule, severity, seconds=2.0, axis=0, config=CONFIG, seed=7):
    sim = RigSimulator(config, schedule, seed=seed)
    start = _index_of_severity(schedule, severity, config.accel_rate)
    return sim, sim.accel(start, int(seconds * config.accel_rate))[:, axis].astype(np.float64)


def test_shapes_and_dtypes():
    sim = RigSimulator(CONFIG, _schedule(), seed=0)
    accel, mic = sim.accel(1000, 256), sim.mic(1000, 160)
    assert accel.shape == (256, 3) and accel.dtype == np.float32
    assert mic.shape == (160, 1) and mic.dtype == np.float32
    assert sim.accel(0, 0).shape == (0, 3)
    with pytest.raises(ValueError, match="start_index"):
        sim.accel(-1, 10)


@pytest.mark.parametrize("stream", ["accel", "mic"])
def test_chunks_join_seamlessly(stream):
    sim = RigSimulator(NOISELESS, _schedule(onset_s=0.0, failure_s=10.0), seed=3)
    generate = getattr(sim, stream)
    start = 123_457  # several seconds in: impacts are strong
    whole = generate(start, 2000)
    parts = np.concatenate([generate(start, 1000), generate(start + 1000, 1000)])
    assert np.abs(whole).max() > 1e-2  # there is a signal to compare
    np.testing.assert_allclose(parts, whole, rtol=0.0, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 2999), max_size=6, unique=True))
def test_any_chunking_gives_the_same_deterministic_signal(cuts):
    schedule = FaultSchedule((
        ScheduledFault("inner_race", "de_bearing", 0.0, 5.0),
        ScheduledFault("ball", "nde_bearing", 0.0, 5.0),
    ))
    sim = RigSimulator(NOISELESS, schedule, seed=11)
    start = 51_200
    edges = [0, *sorted(cuts), 3000]
    chunked = np.concatenate([sim.accel(start + a, b - a) for a, b in itertools.pairwise(edges)])
    np.testing.assert_allclose(chunked, sim.accel(start, 3000), rtol=0.0, atol=1e-5)


def test_same_seed_same_data_and_different_seed_different_noise():
    schedule = _schedule()
    first, again = RigSimulator(CONFIG, schedule, seed=5), RigSimulator(CONFIG, schedule, seed=5)
    other = RigSimulator(CONFIG, schedule, seed=6)
    np.testing.assert_array_equal(first.accel(40_000, 512), again.accel(40_000, 512))
    np.testing.assert_array_equal(first.mic(40_000, 512), again.mic(40_000, 512))
    np.testing.assert_array_equal(first.accel(40_000, 512), first.accel(40_000, 512))
    assert not np.array_equal(first.accel(40_000, 512), other.accel(40_000, 512))
    assert not np.array_equal(first.mic(40_000, 512), other.mic(40_000, 512))


@pytest.mark.parametrize(
    ("fault_type", "location", "characteristic"),
    [
        ("outer_race", "de_bearing", "bpfo"),
        ("inner_race", "de_bearing", "bpfi"),
        ("ball", "de_bearing", "two_bsf"),
        ("inner_race", "nde_bearing", "bpfi"),
    ],
)
def test_envelope_spectrum_peaks_at_the_defect_frequency(fault_type, location, characteristic):
    schedule = _schedule(fault_type, location)
    sim, x = _accel_at_severity(schedule, severity=0.15)
    freqs, spectrum = _envelope_spectrum(x, CONFIG.accel_rate)
    defect = sim.defect_frequencies
    expected = {"bpfo": defect.bpfo, "bpfi": defect.bpfi, "two_bsf": 2 * defect.bsf}
    bin_hz = freqs[1]
    # The defect line is the strongest thing near it (shaft-rate sidebands included) ...
    near = (freqs > expected[characteristic] - 40.0) & (freqs < expected[characteristic] + 40.0)
    peak_hz = freqs[near][np.argmax(spectrum[near])]
    assert abs(peak_hz - expected[characteristic]) <= 2 * bin_hz
    assert _prominence(freqs, spectrum, expected[characteristic]) > 10.0
    # ... and the other defect frequencies show nothing.
    for name, f_hz in expected.items():
        if name != characteristic:
            assert _prominence(freqs, spectrum, f_hz) < 6.0, name


def test_outer_race_line_is_the_global_envelope_peak():
    sim, x = _accel_at_severity(_schedule("outer_race"), severity=0.15)
    freqs, spectrum = _envelope_spectrum(x, CONFIG.accel_rate)
    band = (freqs > 10.0) & (freqs < 500.0)
    assert abs(freqs[band][np.argmax(spectrum[band])] - sim.defect_frequencies.bpfo) <= 2 * freqs[1]


def test_healthy_rig_has_no_defect_lines():
    sim = RigSimulator(CONFIG, FaultSchedule(), seed=7)
    x = sim.accel(100_000, int(2 * CONFIG.accel_rate))[:, 0].astype(np.float64)
    freqs, spectrum = _envelope_spectrum(x, CONFIG.accel_rate)
    defect = sim.defect_frequencies
    for f_hz in (defect.bpfo, defect.bpfi, 2 * defect.bsf):
        assert _prominence(freqs, spectrum, f_hz) < 6.0


def test_no_impacts_before_onset():
    healthy = RigSimulator(NOISELESS, FaultSchedule(), seed=2)
    faulty = RigSimulator(NOISELESS, _schedule(onset_s=10.0, failure_s=20.0), seed=2)
    before, after = int(9.7 * CONFIG.accel_rate), int(15 * CONFIG.accel_rate)
    np.testing.assert_array_equal(faulty.accel(before, 5000), healthy.accel(before, 5000))
    assert not np.array_equal(faulty.accel(after, 5000), healthy.accel(after, 5000))


def test_impact_energy_grows_with_severity():
    schedule = _schedule()
    band_rms = []
    for severity in (0.05, 0.2, 0.5, 0.9):
        _, x = _accel_at_severity(schedule, severity, seconds=0.5)
        band_rms.append(np.std(_band_pass(x, CONFIG.accel_rate)))
    assert np.all(np.diff(band_rms) > 0.0)
    assert band_rms[-1] > 5.0 * band_rms[0]


def test_radial_axes_see_more_than_axial_and_de_more_than_nde():
    def band_rms(location, axis):
        _, x = _accel_at_severity(_schedule("outer_race", location), 0.5, seconds=0.5, axis=axis)
        return np.std(_band_pass(x, CONFIG.accel_rate))

    de_x, de_y, de_z = (band_rms("de_bearing", axis) for axis in range(3))
    assert de_x > de_z and de_y > de_z
    assert band_rms("nde_bearing", 0) < 0.6 * de_x


def test_shaft_harmonics_are_present_when_healthy():
    sim = RigSimulator(CONFIG, FaultSchedule(), seed=1)
    rate = CONFIG.accel_rate
    x = sim.accel(0, int(2 * rate))[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x)) * 2 / x.size
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    one_x = spectrum[np.argmin(np.abs(freqs - CONFIG.shaft_hz))]
    assert one_x == pytest.approx(CONFIG.accel_imbalance, rel=0.3)
    assert spectrum[np.argmin(np.abs(freqs - 2 * CONFIG.shaft_hz))] > 5 * np.median(spectrum)


def test_microphone_hears_hum_and_growing_clicks_at_the_defect_rate():
    schedule = _schedule("outer_race")
    sim = RigSimulator(CONFIG, schedule, seed=4)
    rate = CONFIG.mic_rate
    healthy = sim.mic(0, int(rate))[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(healthy)) * 2 / healthy.size
    freqs = np.fft.rfftfreq(healthy.size, 1 / rate)
    hum = spectrum[np.argmin(np.abs(freqs - 2 * CONFIG.line_hz))]
    assert hum == pytest.approx(CONFIG.mic_hum, rel=0.3)

    click_band = (1500.0, 3500.0)  # around the 2.5 kHz radiating mode
    levels = []
    for severity in (0.1, 0.5, 0.9):
        start = _index_of_severity(schedule, severity, rate)
        p = sim.mic(start, int(rate))[:, 0].astype(np.float64)
        levels.append(np.std(_band_pass(p, rate, click_band)))
    assert np.all(np.diff(levels) > 0.0)

    p = sim.mic(_index_of_severity(schedule, 0.3, rate), int(2 * rate))[:, 0].astype(np.float64)
    envelope = np.abs(signal.hilbert(_band_pass(p, rate, click_band)))
    envelope -= envelope.mean()
    env_spectrum = np.abs(np.fft.rfft(envelope * np.hanning(envelope.size)))
    env_freqs = np.fft.rfftfreq(envelope.size, 1 / rate)
    assert _prominence(env_freqs, env_spectrum, sim.defect_frequencies.bpfo) > 10.0
