import numpy as np
import pytest

from pm_monitor.core.models.health_indicator import HealthIndicator
from pm_monitor.core.models.normalization import FeatureScaler


def test_fit_uses_only_present_values_and_absent_become_zero():
    values = np.array([[1.0, 10.0], [3.0, 0.0], [5.0, 30.0]], np.float32)
    present = np.array([[True, True], [True, False], [True, True]])
    scaler = FeatureScaler.fit(values, present)
    np.testing.assert_allclose(scaler.mean, [3.0, 20.0])
    np.testing.assert_allclose(scaler.std, [np.sqrt(8 / 3), 10.0], rtol=1e-6)
    z = scaler.standardise(values, present)
    assert z[1, 1] == 0.0
    np.testing.assert_allclose(z[:, 0], (values[:, 0] - 3.0) / np.sqrt(8 / 3), rtol=1e-6)


def test_health_indicator_reads_out_in_log_space():
    indicator = HealthIndicator(np.array([0.5, 0.0, 1.0], np.float32), np.log(0.05), offset=0.05)
    assert indicator(np.zeros(3)) == pytest.approx(0.0)  # the training mean is "healthy"
    assert indicator(np.array([1.0, 5.0, 2.0])) == pytest.approx(0.05 * np.exp(2.5) - 0.05)
    np.testing.assert_allclose(indicator(np.zeros((4, 3))), np.zeros(4), atol=1e-12)
