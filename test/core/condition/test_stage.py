import numpy as np
import pytest

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.stages.contract import Abstention, InputRefusedError, Stage1Decision
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import HealthState

RATE = 20000.0


def _window(x: np.ndarray, t_end_s: float, valid_fraction: float = 1.0,
            rate: float = RATE) -> AnalysisWindow:
    valid = np.arange(x.size) < valid_fraction * x.size
    sw = StreamWindow(x[:, None].astype(np.float32), rate, ("DE",),
                      int((t_end_s - x.size / rate) * 1e9), valid)
    return AnalysisWindow(int(t_end_s * 1e9), x.size / rate, {"accel": sw})


def _stage(tmp_path) -> PhysicsStage1:
    return PhysicsStage1(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path),
                         hop_s=0.25)


def test_abstains_while_commissioning_on_new_seconds_then_decides(tmp_path, bearing_signal):
    stage = _stage(tmp_path)
    signal = bearing_signal(RATE, 4.0, None, 29.3)
    w, hop = int(0.5 * RATE), int(0.25 * RATE)
    out = [stage.decide(_window(signal[st:st + w], 0.5 + 0.25 * k))
           for k, st in enumerate(range(0, signal.size - w + 1, hop))]
    # 2.5 s asked: 0.5 s then 0.25 s per overlapping window -> complete at the 9th window,
    # which taught the reference too; the 10th is the first decision against it
    assert all(isinstance(o, Abstention) for o in out[:9])
    assert [o.commissioning for o in out[:3]] == [(1, 9), (2, 9), (3, 9)]
    assert isinstance(out[9], Stage1Decision)
    assert out[9].state_probabilities[HealthState.NORMAL] == 1.0 and out[9].fault_type == "none"
    assert stage.status()["commissioning_progress"] == 1.0


def test_fault_gives_a_decision_with_physics_evidence(tmp_path, bearing_signal):
    stage = _stage(tmp_path)
    shaft = 29.3
    stage.given_rpm = shaft * 60
    for k in range(12):
        stage.decide(_window(bearing_signal(RATE, 0.5, None, shaft, seed=k), 0.5 + 0.5 * k))
    bpfo = stage.asset.bearings["drive_end"].outer_race * shaft
    for k in range(4):
        d = stage.decide(_window(bearing_signal(RATE, 0.5, bpfo, shaft, impact_g=2.0,
                                                seed=20 + k), 7.0 + 0.5 * k))
    assert d.anomalous and d.fault_type == "outer_race"
    assert np.argmax(d.state_probabilities) >= HealthState.WARNING
    assert "outer race fault on drive_end" in d.evidence[0]
    assert d.sequence.shape == (1, len(stage.monitor.feature_labels))


def test_inputs_it_cannot_take_are_refused_with_the_reason(tmp_path):
    stage = _stage(tmp_path)
    with pytest.raises(InputRefusedError, match="50%"):
        stage.decide(_window(np.zeros(10000), 1.0, valid_fraction=0.5))
    with pytest.raises(InputRefusedError, match="below 5000 Hz"):
        stage.decide(_window(np.zeros(4000), 1.0, rate=4000.0))
