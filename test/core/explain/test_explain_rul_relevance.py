"""RUL relevance: the history attribution (known answers) and the live recent-history replay."""
import numpy as np
import pytest

from pm_monitor.core.explain.rul_relevance import history_relevance, time_blocks


def test_time_blocks():
    assert time_blocks(10, 4).tolist() == [0, 2, 5, 8, 10]
    assert time_blocks(2, 4).tolist() == [0, 1, 2]


def test_history_relevance_additive_model_known_answer():
    rng = np.random.default_rng(0)
    history = rng.normal(size=(12, 3))
    weights = np.array([2.0, -1.0, 0.5])

    def estimate(h: np.ndarray) -> float:
        return float((h * weights).sum())

    reference = np.array([0.1, 0.2, 0.3])
    result = history_relevance(estimate, history, ("rms", "kurtosis", "envelope"), reference,
                               n_blocks=3, n_permutations=5)
    edges = result.block_edges
    for c in range(3):
        for b in range(3):
            expected = weights[c] * (history[edges[b]:edges[b + 1], c] - reference[c]).sum()
            assert result.values[c, b] == pytest.approx(expected, abs=1e-6)  # captum: float32 sums
    assert result.conservation_error < 1e-6
    name, block, value = result.top(1)[0]
    assert abs(value) == pytest.approx(np.abs(result.values).max())
    assert name in result.names and 0 <= block < 3


def test_history_relevance_finds_the_moment_and_indicator_that_moved_a_trend():
    """A 'RUL' that drops when the last block's rms rises: only (rms, last block) matters."""
    history = np.ones((16, 2))
    history[12:, 0] = 3.0  # rms jumps in the last quarter

    def estimate(h: np.ndarray) -> float:
        return 100.0 - 20.0 * max(0.0, float(h[-4:, 0].mean()) - 1.0)

    result = history_relevance(estimate, history, ("rms_h", "kurtosis_h"), n_blocks=4,
                               n_permutations=10)
    assert result.top(1)[0][:2] == ("rms_h", 3)
    assert result.values[0, 3] == pytest.approx(-40.0)
    np.testing.assert_allclose(np.delete(result.values.ravel(), 3), 0.0, atol=1e-6)
    assert result.estimate - result.reference_estimate == pytest.approx(-40.0)


def test_history_shape_errors():
    with pytest.raises(ValueError, match="history"):
        history_relevance(lambda h: 0.0, np.zeros((5, 2)), ("a",))
    with pytest.raises(ValueError, match="reference"):
        history_relevance(lambda h: 0.0, np.zeros((5, 2)), ("a", "b"), np.zeros(3))


class _Tracker:
    """A stand-in for a prognosis tracker: RUL falls with the mean rms of the last 3 rows."""

    def __init__(self, model: dict) -> None:
        self.model = model
        self.rows: list[np.ndarray] = []

    def update(self, t_s: float, row: np.ndarray) -> None:
        self.rows.append(np.asarray(row))

    def estimate(self):
        rms = np.mean([r[0] for r in self.rows[-3:]])
        return type("Estimate", (), {"rul_s": self.model["life_s"] - 100.0 * rms})()


def test_recent_history_replays_only_the_window_and_blames_the_rise():
    from pm_monitor.core.explain.rul_relevance import RecentHistory

    model = {"life_s": 1000.0}
    tracker, history = _Tracker(model), RecentHistory(window=8, healthy_snapshots=4)
    assert history.explain(("rms", "kurtosis")) is None
    for i in range(20):
        row = np.array([1.0 if i < 17 else 4.0, 3.0])  # rms jumps in the last 3 snapshots
        history.before_update(tracker, 10.0 * i, row)
        tracker.update(10.0 * i, row)
    assert len(history) == 8
    frozen = history.frozen()
    history.before_update(tracker, 999.0, np.array([9.0, 9.0]))  # does not reach the copy
    assert frozen.rows()[0][-1] == 190.0 and history.rows()[0][-1] == 999.0
    history = frozen
    explanation = history.explain(("rms", "kurtosis"), n_blocks=4, n_permutations=6)
    assert explanation.estimate == pytest.approx(tracker.estimate().rul_s) == 600.0
    assert explanation.reference_estimate == pytest.approx(900.0)  # healthy rms = 1
    assert explanation.block_start_s[0] == 120.0 and explanation.block_end_s[-1] == 190.0
    assert explanation.relevance[1].tolist() == pytest.approx([0.0] * 4, abs=1e-9)
    assert explanation.relevance[0].sum() == pytest.approx(-300.0)
    assert explanation.relevance[0, :2].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert explanation.conservation_error < 1e-6
    assert "rms at 1" in explanation.summary and "lowered" in explanation.summary
    assert history._states[0].model is model  # the copies share the model
