from pm_monitor.report.detection import (
    AlertRecord,
    HealthSample,
    RulSample,
    TruthSample,
    format_summary,
    summarise,
)


def _truth():
    # healthy until 10 s, fault onset at 10 s, pre-warning from 20 s, hotspot at (50, 40)
    out = []
    for t in range(0, 40):
        severity = 0.0 if t < 10 else (t - 9) / 31
        state = 0 if t < 20 else 1
        rul = None if t < 10 else 40.0 - t
        out.append(TruthSample(float(t), state, severity, rul, (50, 40) if t >= 10 else None))
    return out


def test_delay_false_alarms_accuracy_hotspot_and_rul():
    truth = _truth()
    alerts = [AlertRecord(5.0, "a", 0, 1, None, None),             # before onset: false alarm
              AlertRecord(6.0, "a", 3, 0, None, None),             # cleared
              AlertRecord(22.0, "b", 0, 1, (53, 44), 15.0),        # detection
              AlertRecord(25.0, "b", 1, 1, (50, 40), 14.0)]
    health = [HealthSample(float(t), 0 if t < 21 else 1, 1.0, 2.0, False, 1.0)
              for t in range(40)]
    rul = [RulSample(30.0, 12.0, 8.0, 14.0), RulSample(35.0, 9.0, 1.0, 3.0)]
    s = summarise(truth, health, alerts, rul)
    assert s.fault_onset_s == 10.0 and s.truth_pre_warning_s == 20.0
    assert s.first_alert_s == 22.0
    assert s.detection_delay_after_onset_s == 12.0
    assert s.detection_delay_after_pre_warning_s == 2.0
    assert s.false_alarms == 1 and s.alerts_raised == 2
    assert s.window_state_accuracy == 39 / 40          # only t=20 disagrees
    assert s.median_hotspot_error_px == 2.5            # (5 + 0) / 2
    assert s.rul_mae_s == 3.0 and s.rul_interval_coverage == 0.5
    assert "detection_delay_after_onset_s | 12.00" in format_summary(s)


def test_healthy_run_counts_every_alert_as_false():
    truth = [TruthSample(float(t), 0, 0.0, None, None) for t in range(10)]
    s = summarise(truth, [], [AlertRecord(3.0, "x", 0, 2, None, None)], [])
    assert s.false_alarms == 1 and s.first_alert_s is None
    assert s.detection_delay_after_onset_s is None
