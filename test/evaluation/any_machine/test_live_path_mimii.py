"""MIMII fans through the live path (microphone SensorChunks through the node's pipeline, the
mic-only asset file) agree with the monitor's acoustic scorer driven by hand on the same
windows: the synchroniser's windows of a 10 s clip are the hand-cut 1 s / 0.5 s frames 1-17
(its grid starts one hop in, the last window waits for later data)."""
import numpy as np
import pytest

from pm_monitor.core.condition.acoustic import AcousticMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import DataNotFoundError, machine_sound
from pm_monitor.evaluation.any_machine.live_path_mimii import mimii_live

RATE = float(machine_sound.SAMPLE_RATE_HZ)
FRAME, HOP = int(RATE), int(RATE) // 2
LIVE_FRAMES = range(1, 18)


def _fan_clips(mid: str) -> list:
    try:
        return [c for c in machine_sound.list_clips()
                if c.machine_type == "fan" and c.machine_id == mid]
    except DataNotFoundError as err:
        pytest.skip(str(err))


def _frames(clip):
    x = machine_sound.load_clip(clip)
    return [x[k * HOP:k * HOP + FRAME] for k in LIVE_FRAMES]


def test_fan_id_02_live_scores_equal_the_scorer_on_the_same_windows(tmp_path):
    clips = _fan_clips("id_02")
    live = mimii_live(tmp_path, max_clips=1, ids=["id_02"])["id_02"]
    train = [c for c in clips if c.split == "train"]
    assert live["commissioning_clips"] == len(train)
    assert live["commissioning_windows"] == len(LIVE_FRAMES) * len(train)
    direct = AcousticMonitor("fan", ["mic"], RATE, None, required_s=1e9)
    for clip in train:
        for frame in _frames(clip):
            direct.process(frame, new_s=0.5)
    direct.builder.finish()
    threshold = direct.reference.threshold
    assert live["threshold"] == pytest.approx(threshold, rel=1e-9)
    by_file = {c.file: c for c in clips}
    assert [r["label"] for r in live["clips"]] == ["normal", "anomaly"]
    for row in live["clips"]:
        assert row["windows"] == len(LIVE_FRAMES)
        expected = np.mean([direct.process(f).anomaly for f in _frames(by_file[row["file"]])])
        assert row["score"] == pytest.approx(expected * threshold, rel=1e-6)
        assert row["max_state"] <= HealthState.PRE_WARNING  # sound alone never goes higher
    assert live["n_test_normal"] == live["n_test_anomaly"] == 1
