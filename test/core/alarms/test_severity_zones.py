"""ISO 10816-3 velocity RMS: analytic sines, band limits, zones, and real CWRU/FEMTO records."""
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, signal

from pm_monitor.core.alarms.severity_zones import (
    Agreement,
    IsoZone,
    ZoneTable,
    agreement,
    velocity_rms_mm_s,
    window_velocity_mm_s,
)
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import HealthState as S
from pm_monitor.datasets.paths import DataNotFoundError, dataset_dir

FS = 25600.0
G = 9.80665


def sine(amplitude_m_s2: float, freq_hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * FS)) / FS
    return amplitude_m_s2 * np.sin(2 * np.pi * freq_hz * t + 0.3)


def analytic_mm_s(amplitude_m_s2: float, freq_hz: float) -> float:
    """a = A sin(wt) -> v = -A/w cos(wt): RMS A / (w sqrt 2), in mm/s."""
    return amplitude_m_s2 / (2 * np.pi * freq_hz * np.sqrt(2)) * 1000


@pytest.mark.parametrize("freq_hz", [20.0, 29.95, 100.0, 333.0, 980.0])
@pytest.mark.parametrize("seconds", [1.0, 0.5])
def test_sine_in_band_gives_the_analytic_velocity(freq_hz, seconds):
    v = velocity_rms_mm_s(sine(10.0, freq_hz, seconds), FS)
    assert v == pytest.approx(analytic_mm_s(10.0, freq_hz), rel=0.01)


def test_known_case_10_m_s2_at_100_hz_is_11_25_mm_s():
    assert velocity_rms_mm_s(sine(10.0, 100.0), FS) == pytest.approx(11.254, abs=0.01)


@pytest.mark.parametrize("freq_hz", [3.0, 5.0, 1500.0, 3000.0, 8000.0])
def test_out_of_band_sines_are_attenuated(freq_hz):
    v = velocity_rms_mm_s(sine(10.0, freq_hz), FS)
    assert v < 1e-3 * analytic_mm_s(10.0, freq_hz)


def test_sum_of_in_and_out_of_band_components_keeps_only_the_in_band_one():
    x = sine(5.0, 50.0) + sine(200.0, 3000.0) + sine(50.0, 4.0)
    assert velocity_rms_mm_s(x, FS) == pytest.approx(analytic_mm_s(5.0, 50.0), rel=0.01)


def test_channels_are_independent_and_dc_offset_is_ignored():
    x = np.stack([sine(10.0, 100.0) + 9.81, sine(2.0, 50.0)], axis=1)
    v = velocity_rms_mm_s(x, FS)
    assert v == pytest.approx([analytic_mm_s(10.0, 100.0), analytic_mm_s(2.0, 50.0)], rel=0.01)


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="lower edge"):
        velocity_rms_mm_s(sine(1.0, 100.0, 0.05), FS)
    with pytest.raises(ValueError, match="NaN"):
        velocity_rms_mm_s(np.full(int(FS), np.nan), FS)
    with pytest.raises(ValueError, match="band"):
        velocity_rms_mm_s(sine(1.0, 100.0), 1000.0)


def test_window_velocity_takes_the_worst_radial_channel_and_refuses_gaps():
    samples = np.stack([sine(10.0, 100.0), sine(20.0, 100.0), sine(99.0, 100.0)], 1)
    stream = StreamWindow(samples.astype(np.float32), FS, ("x", "y", "z"), 0,
                          np.ones(len(samples), bool))
    window = AnalysisWindow(10 ** 9, 1.0, {"accel": stream})
    assert window_velocity_mm_s(window) == pytest.approx(analytic_mm_s(20.0, 100.0), rel=0.01)
    gappy = StreamWindow(samples.astype(np.float32), FS, ("x", "y", "z"), 0,
                         np.arange(len(samples)) < len(samples) // 2)
    assert window_velocity_mm_s(AnalysisWindow(10 ** 9, 1.0, {"accel": gappy})) is None
    assert window_velocity_mm_s(AnalysisWindow(10 ** 9, 1.0, {})) is None


def test_zone_boundaries_and_agreement():
    table = ZoneTable.iso_10816_3(2, "rigid")
    zones = [table.classify(v) for v in (0.5, 1.4, 2.79, 2.8, 4.49, 4.5, 30.0, float("nan"))]
    assert zones == [IsoZone.A, IsoZone.B, IsoZone.B, IsoZone.C, IsoZone.C, IsoZone.D,
                     IsoZone.D, IsoZone.UNKNOWN]
    assert agreement(S.NORMAL, IsoZone.B) == Agreement.AGREE
    assert agreement(S.WARNING, IsoZone.A) == Agreement.MODEL_HIGHER
    assert agreement(S.NORMAL, IsoZone.C) == Agreement.ZONE_HIGHER
    assert agreement(S.WARNING, IsoZone.D) == Agreement.ZONE_HIGHER
    assert agreement(S.FAILURE, IsoZone.D) == Agreement.AGREE
    assert agreement(S.FAILURE, IsoZone.UNKNOWN) == Agreement.UNKNOWN
    with pytest.raises(ValueError, match="iso_machine_group"):
        ZoneTable.iso_10816_3(3, "rigid")


# --- real records ----------------------------------------------------------------------------

def _data(name: str) -> Path:
    try:
        return dataset_dir(name)
    except DataNotFoundError:
        pytest.skip(f"{name} data not available")


def _time_domain_velocity_mm_s(accel_m_s2: np.ndarray, fs: float) -> float:
    """Independent check: band-pass, integrate with the trapezoid rule, high-pass again."""
    band = signal.butter(4, (10.0, 1000.0), btype="bandpass", fs=fs, output="sos")
    velocity = integrate.cumulative_trapezoid(signal.sosfiltfilt(band, accel_m_s2 -
                                                                 accel_m_s2.mean()),
                                              dx=1 / fs, initial=0)
    velocity = signal.sosfiltfilt(signal.butter(4, 10.0, "highpass", fs=fs, output="sos"),
                                  velocity)
    edge = len(velocity) // 10  # filter transients at both ends
    return float(np.sqrt(np.mean(velocity[edge:-edge] ** 2)) * 1000)


@pytest.mark.parametrize("record", [97, 105, 118, 130, 209, 234])
def test_cwru_record_velocity_matches_time_domain_integration(record):
    archive = np.load(_data("cwru") / "cwru_12k_de.npz")
    key = f"DE12k_{record}" if f"DE12k_{record}" in archive.files else f"DE_{record}"
    accel = archive[key].astype(np.float64) * G  # CWRU values are in g
    v = float(velocity_rms_mm_s(accel, 12000.0))
    zone = ZoneTable.iso_10816_3(2, "rigid").classify(v)
    print(f"CWRU {record}: {v:.3f} mm/s, zone {zone.name} (group 2 rigid)")
    assert v == pytest.approx(_time_domain_velocity_mm_s(accel, 12000.0), rel=0.05)
    assert zone != IsoZone.UNKNOWN


def test_femto_bearing_ends_in_a_worse_zone_than_it_starts():
    from pm_monitor.datasets.femto import load_bearing

    bearing = load_bearing("Bearing1_2", _data("femto"))
    accel = bearing.acc_g.astype(np.float64) * G
    per_snapshot = np.array([velocity_rms_mm_s(s, bearing.fs).max() for s in accel])
    tenth = max(1, len(per_snapshot) // 10)
    start, end = np.median(per_snapshot[:tenth]), np.median(per_snapshot[-5:])
    table = ZoneTable.iso_10816_3(2, "rigid")
    print(f"FEMTO Bearing1_2: first 10 % {start:.2f} mm/s ({table.classify(start).name}), "
          f"last 5 snapshots {end:.2f} mm/s ({table.classify(end).name})")
    assert table.classify(end) > table.classify(start)
