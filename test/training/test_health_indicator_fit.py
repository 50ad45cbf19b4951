import numpy as np

from pm_monitor.training.health_indicator_fit import fit_health_indicator


def test_fit_recovers_severity_from_a_log_amplitude_feature():
    rng = np.random.default_rng(0)
    severity = np.concatenate([np.zeros(200), np.linspace(0.0, 1.0, 300)])
    names = ("accel_x.rms", "accel_x.crest", "thermal.max_c")
    log_rms = np.log(severity + 0.05) + 0.02 * rng.standard_normal(severity.size)
    features = np.column_stack([log_rms, rng.standard_normal((severity.size, 2))])
    indicator = fit_health_indicator(features, severity, names, ridge=1e-3)
    assert indicator.weights[1] == 0.0 and indicator.weights[2] == 0.0  # not wear features
    estimate = np.asarray(indicator(features))
    assert np.abs(estimate - severity).max() < 0.1
