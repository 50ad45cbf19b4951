import numpy as np
from condition_synthetic import bearing_signal

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.condition.stage import PhysicsStage
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow

RATE = 20000.0


def _window(x: np.ndarray, t_end_s: float, valid_fraction: float = 1.0) -> AnalysisWindow:
    valid = np.arange(x.size) < valid_fraction * x.size
    sw = StreamWindow(x[:, None].astype(np.float32), RATE, ("DE",),
                      int((t_end_s - x.size / RATE) * 1e9), valid)
    return AnalysisWindow(int(t_end_s * 1e9), x.size / RATE, {"accel": sw})


def test_single_axis_20khz_commissions_on_new_seconds_then_judges(tmp_path):
    stage = PhysicsStage(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path))
    signal = bearing_signal(RATE, 4.0, None, 29.3)
    w, hop = int(0.5 * RATE), int(0.25 * RATE)
    out = [stage.process(_window(signal[st:st + w], 0.5 + 0.25 * k))
           for k, st in enumerate(range(0, signal.size - w + 1, hop))]
    # 2.5 s asked: 0.5 s then 0.25 s per overlapping window -> complete at the 9th window,
    # which taught the reference too; the 10th is the first judged against it
    assert [round(a.progress, 2) for a in out[:9]] == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                                       1.0]
    assert [a.commissioning for a in out[8:10]] == [True, False]
    assert stage.monitor.commissioned


def test_missing_or_gappy_accelerometer_does_not_vote(tmp_path):
    stage = PhysicsStage(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path))
    assert stage.process(AnalysisWindow(10**9, 0.5, {})) is None
    assert "no accel" in stage.last_skip
    assert stage.process(_window(np.zeros(10000), 1.0, valid_fraction=0.5)) is None
    assert "50%" in stage.last_skip
