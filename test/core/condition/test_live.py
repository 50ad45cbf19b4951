import numpy as np
from condition_synthetic import bearing_signal

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.live import LiveAssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore


def test_chunks_of_any_length_make_the_same_windows(tmp_path):
    asset = load("config/assets/cwru_motor.yaml")
    x = bearing_signal(20000.0, 3.0, None, 29.3)[:, None]
    one = LiveAssetMonitor(asset, ReferenceStore(tmp_path / "a"), window_s=0.5)
    out_one = one.push(x, ["DE"], 20000.0, "g")
    two = LiveAssetMonitor(asset, ReferenceStore(tmp_path / "b"), window_s=0.5)
    out_two = [a for s in range(0, x.shape[0], 777)
               for a in two.push(x[s:s + 777], ["DE"], 20000.0, "g")]
    assert len(out_one) == len(out_two) == 6
    np.testing.assert_allclose(one.monitor.reference.median, two.monitor.reference.median)


def test_a_stream_that_cannot_work_is_refused_with_the_reason(tmp_path):
    live = LiveAssetMonitor(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path))
    assert live.push(np.zeros((4000, 1)), ["DE"], 4000.0, "g") == []
    assert "below 5000 Hz" in live.refusal
    assert live.push(np.zeros((4000, 1)), ["DE"], 20000.0, "furlongs") == []
    assert "unknown acceleration unit" in live.refusal
