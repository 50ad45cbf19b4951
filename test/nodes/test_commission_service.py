"""~/commission's answer: the vibration reference's progress, and the microphone's beside it
for an asset that declares one."""
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy")
srv = pytest.importorskip("pm_monitor.srv", reason="messages not built: run tools/setup_env.sh")

from pm_monitor.core.assets.description import parse  # noqa: E402
from pm_monitor.core.condition.reference import ReferenceStore  # noqa: E402
from pm_monitor.core.condition.stage import PhysicsStage1  # noqa: E402
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow  # noqa: E402
from pm_monitor.nodes.commission_service import fill_response  # noqa: E402


def _stage(tmp_path) -> PhysicsStage1:
    data = yaml.safe_load(Path("config/assets/cwru_motor.yaml").read_text())
    data["asset"]["microphone"] = {"enabled": True}
    return PhysicsStage1(parse(data), ReferenceStore(tmp_path), hop_s=0.5)


def _window(k: int) -> AnalysisWindow:
    rng = np.random.default_rng(k)
    t_end = int((1.0 + 0.5 * k) * 1e9)
    accel = StreamWindow((0.05 * rng.standard_normal((10000, 1))).astype(np.float32), 20000.0,
                         ("DE",), t_end - 500_000_000, np.ones(10000, bool))
    mic = StreamWindow((0.1 * rng.standard_normal((8000, 1))).astype(np.float32), 16000.0,
                       ("mic",), t_end - 500_000_000, np.ones(8000, bool))
    return AnalysisWindow(t_end, 0.5, {"accel": accel, "mic": mic})


def test_progress_names_the_microphone_and_reset_forgets_both(tmp_path):
    stage = _stage(tmp_path)
    answer = fill_response(stage, "progress", srv.Commission.Response())
    assert answer.success and "microphone: no data yet" in answer.message
    for k in range(2):
        stage.decide(_window(k))
    answer = fill_response(stage, "progress", srv.Commission.Response())
    assert "commissioning 40% of 2.5 s; microphone 40%" in answer.message
    answer = fill_response(stage, "reset", srv.Commission.Response())
    assert answer.success and not any(tmp_path.rglob("*.reference.json"))


def test_a_fan_by_sound_alone_reports_its_microphone_reference(tmp_path):
    data = yaml.safe_load(Path("config/assets/mimii_fan.yaml").read_text())
    data["asset"]["commissioning"]["duration_s"] = 2.5
    stage = PhysicsStage1(parse(data), ReferenceStore(tmp_path), hop_s=0.5)
    for k in range(2):
        stage.decide(AnalysisWindow(_window(k).t_end_ns, 0.5, {"mic": _window(k).streams["mic"]}))
    answer = fill_response(stage, "progress", srv.Commission.Response())
    assert answer.success and answer.asset_id == "mimii_fan" and not answer.complete
    assert answer.message == "progress: mimii_fan commissioning 40% of 2.5 s"
    assert answer.collected_s == 1.0
    answer = fill_response(stage, "reset", srv.Commission.Response())
    assert answer.success and answer.progress == 0.0 and not any(tmp_path.rglob("*.json"))


def test_the_rul_path_reports_its_onset_reference_and_state_and_reset_is_a_new_bearing(
        tmp_path):
    """rul_node's (and the monitor's RUL stage's) side of ~/commission."""
    from rul_fakes import FS, femto_asset, small_prognosis, vibration

    from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
    from pm_monitor.core.rul.state import RulStateStore
    from pm_monitor.nodes.commission_service import fill_rul_response

    estimator = LiveRulEstimator(small_prognosis(), LiveConfig(update_period_s=10.0),
                                 femto_asset(), ReferenceStore(tmp_path / "snap"),
                                 RulStateStore(tmp_path / "state"), "b3")
    answer = fill_rul_response(estimator, "", srv.Commission.Response())
    assert answer.success and answer.asset_id == "b3" and answer.progress == 0.0
    assert answer.required_s == 60.0  # the model's reference_s, in seconds of operation
    assert "RUL onset reference 0% of 60 s; RUL state: new asset" in answer.message
    for i in range(3):  # three 0.1 s snapshots, 10 s apart: 30 of the 60 s
        frames = vibration(2560, 1.0, i)
        estimator.on_chunk(10**18 + i * 10**10, FS, ["horizontal", "vertical"], "g",
                           i * 256000, frames.reshape(-1))
    answer = fill_rul_response(estimator, "progress", srv.Commission.Response())
    assert answer.progress == pytest.approx(0.5) and answer.collected_s == pytest.approx(30.0)
    assert not fill_rul_response(estimator, "explode", srv.Commission.Response()).success
    answer = fill_rul_response(estimator, "reset", srv.Commission.Response())
    assert answer.success and answer.progress == 0.0 and "new asset (reset)" in answer.message
    assert not list(tmp_path.rglob("*.json"))
