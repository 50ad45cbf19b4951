import json

import numpy as np
import pytest

from pm_monitor.datasets import DataNotFoundError
from pm_monitor.evaluation import rul_truncation_bound as bound


def test_a_ratio_matching_where_records_were_cut_scores_high_and_one_over_all_life_does_not():
    # three bearings all cut at 80 % of life: RUL = 0.25 x elapsed is right on every one
    elapsed = np.array([8000.0, 4000.0, 2000.0])
    scores = bound.ratio_scores(elapsed, 0.25 * elapsed)
    assert bound.RATIOS[np.argmax(scores)] == pytest.approx(0.25, rel=0.01)
    assert scores.max() > 0.99
    over_life = bound.ratio_scores(bound.LIFE_FRACTIONS, 1.0 - bound.LIFE_FRACTIONS)
    learned = bound.RATIOS[np.argmax(over_life)]
    assert learned > 0.8  # the whole life favours "about as long again": late at 80 % of life
    assert scores[np.argmin(np.abs(bound.RATIOS - learned))] < 0.01


def test_report_on_the_test_bearings(tmp_path):
    try:
        result = bound.evaluate()
    except DataNotFoundError as err:
        pytest.skip(str(err))
    assert [p["bearing"] for p in result["points"]] == [
        "Bearing1_3", "Bearing1_4", "Bearing2_3", "Bearing2_4", "Bearing3_3"]
    assert all(0 < p["fraction_of_life"] < 1 for p in result["points"])
    ratios = result["ratios"]
    # the oracle is by construction at least as good on the test answers as the honest choice
    assert ratios["hindsight_on_test_answers"]["score"] >= ratios["learning_lives"]["score"]
    bound.write(result, tmp_path)
    assert json.loads((tmp_path / "truncation_bound.json").read_text())["bar"] == bound.BAR
    assert (tmp_path / "truncation_bound.png").stat().st_size > 0
    assert "hindsight_on_test_answers" in (tmp_path / "truncation_bound.md").read_text()
