import numpy as np

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.types import HealthState

RATE = 20000.0


def _cwru_like(tmp_path):
    asset = load("config/assets/cwru_motor.yaml")
    return AssetMonitor(asset, ["DE"], RATE, ReferenceStore(tmp_path))


def test_iso_only_until_commissioned_then_physics_names_the_fault(tmp_path, bearing_signal):
    mon = _cwru_like(tmp_path)
    shaft = 29.3
    for seed in range(6):
        a = mon.process(bearing_signal(RATE, 0.5, None, shaft, seed=seed))
        if not mon.commissioned:
            assert a.commissioning and "ISO zone" in a.summary
    assert mon.commissioned
    bpfo = mon.asset.bearings["drive_end"].outer_race * shaft
    states = []
    for seed in range(4):
        a = mon.process(bearing_signal(RATE, 0.5, bpfo, shaft, impact_g=2.0, seed=10 + seed),
                        shaft_rpm=shaft * 60)
        states.append(a.state)
    assert a.anomalous and states[-1] >= HealthState.WARNING
    assert a.diagnosis.fault_type == "outer_race" and a.diagnosis.bearing == "drive_end"
    assert "outer race fault on drive_end" in a.summary


def test_restart_reloads_the_reference(tmp_path, bearing_signal):
    mon = _cwru_like(tmp_path)
    for seed in range(6):
        mon.process(bearing_signal(RATE, 0.5, None, 29.3, seed=seed))
    again = _cwru_like(tmp_path)
    assert again.commissioned
    np.testing.assert_allclose(again.reference.median, mon.reference.median)
    again.reset()
    assert not again.commissioned and not ReferenceStore(tmp_path).path("cwru_motor").exists()


def _harmonics(shaft_hz: float, seconds: float, seed: int) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    x = sum(np.sin(2 * np.pi * k * shaft_hz * t) / k for k in range(1, 5))
    return (x + 0.5 * np.random.default_rng(seed).standard_normal(t.size))[:, None]


def test_the_speed_is_tracked_over_the_stream_and_forgotten_on_restart(tmp_path):
    mon = _cwru_like(tmp_path)  # estimated speed, nominal 1760 rpm +- 5 %
    x = _harmonics(28.8, 3.0, seed=0)
    w, hop = int(0.5 * RATE), int(0.25 * RATE)
    for k, st in enumerate(range(0, x.shape[0] - w + 1, hop)):
        hz = mon.shaft_hz(x[st:st + w], None, new_s=None if k == 0 else 0.25)
    assert abs(hz - 28.8) < 0.05
    mon.restart_states()  # a new run: the old stream must not pull the new estimate
    assert abs(mon.shaft_hz(_harmonics(30.2, 0.5, seed=1), None) - 30.2) < 0.3
    assert mon.shaft_hz(x[:w], 1700.0) == 1700.0 / 60.0  # a given speed wins


def test_healthy_windows_after_commissioning_report_per_axis_levels_and_rises(tmp_path,
                                                                              bearing_signal):
    mon = _cwru_like(tmp_path)
    for seed in range(12):
        a = mon.process(bearing_signal(RATE, 0.5, None, 29.3, seed=seed))
    assert not a.commissioning and a.state == HealthState.NORMAL
    assert a.axis_levels.shape == (1,) and a.axis_crest.shape == (1,)
    assert a.health_indicator == float(a.axis_levels.max())
    # the floors exist after `persistence` judged windows; healthy windows stay near them
    assert 0.5 < a.rise < mon.rules.trend_ratio
    assert 0.5 < a.crest_rise < mon.rules.crest_trend_ratio


def _commission_then_fault(mon: AssetMonitor, bearing_signal, shaft: float = 29.3):
    """Commission on 2.5 s of healthy signal, then 4 windows of outer-race impacts ringing a
    1 kHz resonance (observable at a MEMS rate); the commissioning and fault Assessments."""
    learning = [mon.process(bearing_signal(mon.rate_hz, 0.5, None, shaft, resonance_hz=1000.0,
                                           seed=seed)) for seed in range(5)]
    bpfo = mon.asset.bearings["drive_end"].outer_race * shaft
    judged = [mon.process(bearing_signal(mon.rate_hz, 0.5, bpfo, shaft, impact_g=2.0,
                                         resonance_hz=1000.0, seed=10 + seed))
              for seed in range(4)]
    return learning, judged


def test_a_mems_rate_commissions_judges_by_iso_and_says_what_is_off(tmp_path, bearing_signal):
    rate = 3200.0  # an ADXL345 at its top rate
    mon = AssetMonitor(load("config/assets/cwru_motor.yaml"), ["DE"], rate,
                       ReferenceStore(tmp_path))
    rules_off = ("bearing-damage rules off (level, rises, defect tones): the 1-2.2 kHz band "
                 "needs >= 4889 Hz, stream is 3200 Hz")
    envelope_off = "fault type unknown: envelope analysis needs >= 3472 Hz, stream is 3200 Hz"
    assert "1-2.2 kHz" in mon.unavailable[0] and not mon.bearing_rules
    assert any(rules_off in u for u in mon.unavailable) and envelope_off in mon.unavailable
    learning, judged = _commission_then_fault(mon, bearing_signal)
    assert all(a.commissioning and envelope_off in a.summary for a in learning)
    assert mon.commissioned and not mon.reference.line_snr  # no envelope lines learned
    a = judged[-1]
    # the deviation is measured and reported, the level rules stay silent: ISO zone A
    assert a.anomalous and a.health_indicator >= 2.0 and a.zone.label == "A"
    assert all(x.state == HealthState.NORMAL for x in judged)
    assert a.diagnosis is None and rules_off in a.summary and envelope_off in a.summary


def test_from_the_bearing_band_rate_the_level_rules_judge_again(tmp_path, bearing_signal):
    mon = AssetMonitor(load("config/assets/cwru_motor.yaml"), ["DE"], 5120.0)
    assert mon.bearing_rules and mon.unavailable == (mon.unavailable[0],)  # high bands only
    _, judged = _commission_then_fault(mon, bearing_signal)
    assert judged[-1].state >= HealthState.PRE_WARNING
    assert "rules off" not in judged[-1].summary


def test_a_tachometer_faster_than_declared_switches_the_envelope_off(tmp_path, bearing_signal):
    at_4k = AssetMonitor(load("config/assets/cwru_motor.yaml"), ["DE"], 4000.0)
    assert not at_4k.bearing_rules and at_4k.envelope_off(29.3) == ""  # its band fits at 4 kHz
    mon = AssetMonitor(load("config/assets/cwru_motor.yaml"), ["DE"], 5120.0)
    assert not any("envelope" in u for u in mon.unavailable) and mon.envelope_off(29.3) == ""
    # twice the speed, twice the band: (500 + 2069 Hz) / 0.45 = 5710 Hz
    assert mon.envelope_off(60.0) == ("fault type unknown: envelope analysis needs >= 5710 Hz, "
                                      "stream is 5120 Hz")
