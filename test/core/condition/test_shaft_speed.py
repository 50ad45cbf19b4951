import numpy as np

from pm_monitor.core.condition.shaft_speed import SpeedTracker, estimate_shaft_hz


def test_speed_drifted_from_nameplate_is_found():
    rate, true_hz = 12000.0, 28.83  # 1730 rpm under load, nameplate 1797
    t = np.arange(int(rate)) / rate
    rng = np.random.default_rng(0)
    x = sum(np.sin(2 * np.pi * k * true_hz * t) / k for k in range(1, 5))
    x = x + rng.standard_normal(t.size)
    est = estimate_shaft_hz(x, rate, 1797 / 60, search_fraction=0.06)
    assert est.estimated and abs(est.shaft_hz - true_hz) < 0.055


def test_short_windows_fall_back_to_nominal():
    est = estimate_shaft_hz(np.random.default_rng(0).standard_normal(256), 25600.0, 30.0, 0.05)
    assert not est.estimated and est.shaft_hz == 30.0


def _motor_on_60_hz_grid(rate: float, seconds: float, shaft_hz: float, seed: int = 0):
    """Weak shaft harmonics 1x..4x under a strong 120 Hz mains line (twice the line frequency),
    as an induction motor on a 60 Hz grid turning just below 30 Hz."""
    t = np.arange(int(rate * seconds)) / rate
    x = sum(0.3 * np.sin(2 * np.pi * k * shaft_hz * t + k) for k in range(1, 5))
    x = x + 2.0 * np.sin(2 * np.pi * 120.0 * t)
    return x + 0.5 * np.random.default_rng(seed).standard_normal(t.size)


def test_the_tracker_resolves_the_4x_harmonic_from_the_mains_line_a_window_cannot():
    rate, true_hz, hop = 12000.0, 28.8, 0.25  # 1728 rpm (CWRU 3 hp): 4x = 115.2 Hz
    x = _motor_on_60_hz_grid(rate, 5.0, true_hz)
    window, step = int(0.5 * rate), int(hop * rate)
    single = estimate_shaft_hz(x[-window:], rate, 1760 / 60, 0.05)
    # one 0.5 s window (2 Hz bins): pulled towards 30 Hz (4x on 120 Hz) by > 2 %, which moves a
    # 3rd BPFI harmonic out of the diagnosis' search window
    assert single.shaft_hz - true_hz > 0.5
    tracker = SpeedTracker(rate, 1760 / 60, 0.05)
    for k, start in enumerate(range(0, x.size - window + 1, step)):
        est = tracker.update(x[start:start + window], new_s=None if k == 0 else hop)
    assert est.estimated and abs(est.shaft_hz - true_hz) < 0.05


def test_overlapping_windows_with_new_seconds_rebuild_the_continuous_stream():
    rate = 12000.0
    x = _motor_on_60_hz_grid(rate, 3.0, 29.0)
    tracker = SpeedTracker(rate, 1760 / 60, 0.05, history_s=2.0)
    for k, start in enumerate(range(0, x.size - 6000 + 1, 3000)):
        est = tracker.update(x[start:start + 6000], new_s=None if k == 0 else 0.25)
    assert est.shaft_hz == estimate_shaft_hz(x[-24000:], rate, 1760 / 60, 0.05).shaft_hz
    tracker.reset()
    again = tracker.update(x[:6000])
    assert again.shaft_hz == estimate_shaft_hz(x[:6000], rate, 1760 / 60, 0.05).shaft_hz
