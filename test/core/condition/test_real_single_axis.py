"""A real bearing, single axis, at a rate no data set here has: CWRU drive end resampled from
12 kHz to 20 kHz (skips where the shared data is not present)."""
import numpy as np
import pytest
from scipy.signal import resample_poly

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import DataNotFoundError, cwru

RATE = 20000.0


def _de_20khz(label: str) -> np.ndarray:
    try:
        rec = next(r for r in cwru.list_records() if r.load_hp == 0 and r.label == label)
        x = cwru.load_record(rec).samples[:, 0]
    except DataNotFoundError as err:
        pytest.skip(str(err))
    return resample_poly(x, 5, 3)  # 12 kHz -> 20 kHz


def _windows(x: np.ndarray, t0_s: float):
    w, hop = int(0.5 * RATE), int(0.25 * RATE)
    for k, st in enumerate(range(0, x.size - w + 1, hop)):
        sw = StreamWindow(x[st:st + w, None].astype(np.float32), RATE, ("DE",), 0,
                          np.ones(w, bool))
        yield AnalysisWindow(int((t0_s + 0.5 + 0.25 * k) * 1e9), 0.5, {"accel": sw})


def test_commissioned_on_normal_then_inner_race_fault_named(tmp_path):
    stage = PhysicsStage1(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path),
                          hop_s=0.25)
    normal = _de_20khz("NORMAL")
    for window in _windows(normal[: normal.size // 2], 0.0):
        stage.decide(window)
    assert stage.monitor.commissioned
    held = [stage.decide(w) for w in _windows(normal[normal.size // 2:], 10.0)]
    assert all(np.argmax(d.state_probabilities) == HealthState.NORMAL for d in held)
    fault = [stage.decide(w) for w in _windows(_de_20khz("IR007")[: int(3 * RATE)], 20.0)]
    assert all(d.anomalous for d in fault)
    assert np.argmax(fault[-1].state_probabilities) >= HealthState.WARNING
    names = [d.fault_type for d in fault]
    assert names.count("inner_race") >= 0.8 * len(fault)
    assert "inner race fault on drive_end" in fault[-1].evidence[0]
