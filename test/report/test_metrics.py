import numpy as np
import pytest

from pm_monitor.report import metrics


def test_confusion_accuracy_and_f1():
    truth = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    confusion = metrics.confusion_matrix(truth, predicted, 4)
    assert confusion[0, 1] == 1 and confusion[2, 0] == 1 and confusion.sum() == 6
    assert metrics.accuracy(confusion) == pytest.approx(4 / 6)
    # F1: class 0: 2*1/(2+2)=0.5, class 1: 2*2/(3+2)=0.8, class 2: 2*1/(1+2)=2/3; 3 absent
    np.testing.assert_allclose(metrics.per_class_f1(confusion)[:3], [0.5, 0.8, 2 / 3])
    assert metrics.macro_f1(confusion) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_auroc_known_values():
    assert metrics.auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert metrics.auroc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert metrics.auroc(np.ones(4), np.array([0, 1, 0, 1])) == 0.5  # all tied
    assert np.isnan(metrics.auroc(np.ones(3), np.zeros(3)))
