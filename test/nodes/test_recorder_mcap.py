"""Recording and report: a short run's monitor outputs (built from the cascade on a simulated
outer-race fault, explanations through the asynchronous explainer) go over ROS to the
recorder, which writes JSON lines, MCAP and the HTML/PNG report; the MCAP reads back with
messages identical to those received."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from ros_wait import spin_until
from sensor_msgs.msg import Image

from pm_monitor.core.alarms import AlarmEvent, AlarmManager
from pm_monitor.core.explain.async_runner import AsyncExplainer
from pm_monitor.core.explain.background import HealthyBackground
from pm_monitor.core.explain.explainer import Explainer
from pm_monitor.core.model_set.rig import rig_cascade, shipped_rig_rul
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.recording.mcap_bag import RecordingError, read_messages
from pm_monitor.core.recording.typestore import typestore
from pm_monitor.core.types import NS_PER_S
from pm_monitor.msg import Alert, Explanation, HealthStatus, RigGroundTruth, RulEstimate
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.nodes.recorder_node import RunRecorder
from pm_monitor.nodes.visualization import HeatmapPublisher
from pm_monitor.report.__main__ import main as report_main
from pm_monitor.report.run_data import load_run
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import rig_window

BUNDLE_DIR = Path(__file__).resolve().parents[2] / "models" / "rig_baseline"
EPOCH_NS = 1_700_000_000 * NS_PER_S



@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    if not (BUNDLE_DIR / "metadata.json").is_file():
        pytest.skip("models/rig_baseline not trained yet")
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    out_dir = tmp_path_factory.mktemp("run")
    try:
        recorder = RunRecorder(context=context)
        yield _record(executor, context, recorder, out_dir)
    finally:
        executor.shutdown()
        rclpy.try_shutdown(context=context)


def _record(executor, context, recorder, out_dir):
    bundle = load_bundle(BUNDLE_DIR)
    monitor = Node("pm_monitor", context=context)
    rig = Node("rig", context=context)
    executor.add_node(recorder)
    executor.add_node(monitor)
    executor.add_node(rig)
    pubs = {
        "alert": monitor.create_publisher(Alert, "~/alert", ALERT_QOS),
        "explanation": monitor.create_publisher(Explanation, "~/explanation", 10),
        "health": monitor.create_publisher(HealthStatus, "~/health", 10),
        "rul": monitor.create_publisher(RulEstimate, "~/rul", 10),
        "truth": rig.create_publisher(RigGroundTruth, "/rig/ground_truth", 10),
        "diagnostics": monitor.create_publisher(DiagnosticArray, "/diagnostics", 10),
    }
    heatmaps = HeatmapPublisher(monitor)
    assert spin_until(executor, lambda: all(p.get_subscription_count() > 0
                                             for p in pubs.values()) and heatmaps.wanted())
    cascade = rig_cascade(bundle, rul=shipped_rig_rul(BUNDLE_DIR))
    background = HealthyBackground()
    explainer = Explainer.from_bundle(bundle, background)
    done = []
    runner = AsyncExplainer(lambda job: (job, explainer.explain(job[0])), done.append,
                            max_pending=8)
    alarms = AlarmManager("rig_1")  # no log: this run is not replayed
    fault = ScheduledFault("outer_race", "de_bearing", 3.0, 25.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "test"), seed=7_501)
    for i in range(50):
        t_s = 1.0 + 0.5 * i
        t_ns = EPOCH_NS + round(t_s * NS_PER_S)
        window = rig_window(simulator, t_s, bundle.window_s)
        window = type(window)(t_ns, window.duration_s, window.streams,
                              {k: type(f)(t_ns, f.image, f.frame_id)
                               for k, f in window.frames.items()}, window.missing)
        truth = simulator.truth(t_s)
        msg = RigGroundTruth(asset_id="rig_1", sim_time_s=t_s, state=int(truth.state),
                             rul_known=truth.rul_s is not None,
                             rul_s=float(truth.rul_s or 0.0))
        msg.header = conv.make_header(t_ns, "rig")
        pubs["truth"].publish(msg)
        result = cascade.process(window)
        background.observe(result)
        pubs["health"].publish(conv.health_msg(result, "rig_1", "asset",
                                               alarms.active_alert_id()))
        estimate = cascade.observe_rul(window)  # as the monitor: after the decision
        if estimate is not None:
            pubs["rul"].publish(conv.rul_msg(estimate, "rig_1", "asset"))
        for update in alarms.update_result(result):
            pubs["alert"].publish(conv.alert_msg(result, update, "rig_1", "asset", "test"))
            if update.event != AlarmEvent.CLEARED:
                assert runner.submit(update.alert_id, (result, update.alert_id))
                if result.localization is not None:
                    heatmaps.publish_localization(result.localization,
                                                  window.frames["thermal"])
        executor.spin_once(timeout_sec=0.0)
    assert runner.wait_idle(60.0)
    runner.close()
    for outcome in done:
        assert outcome.ok, outcome.error
        (result, alert_id), explanation = outcome.result
        pubs["explanation"].publish(conv.explanation_msg(explanation, result, alert_id,
                                                         "rig_1", "asset", bundle.hop_s))
    assert spin_until(executor, lambda: len(recorder.explanations) == len(done)
                       and len(recorder.health) == 50 and len(recorder.truth) == 50)
    summary = recorder.write(out_dir, "short test run")
    for node in (recorder, monitor, rig):
        node.destroy_node()
    return recorder, out_dir, summary, done


def _fields(msg) -> str:
    return json.dumps(conv.message_to_dict(msg), sort_keys=True)


def test_mcap_reads_back_with_identical_messages(recorded_run):
    recorder, out_dir, summary, _ = recorded_run
    assert Path(summary["recording"]) == out_dir / "recording"
    assert (out_dir / "recording" / "metadata.yaml").is_file()
    received = {"/pm_monitor/alert": (Alert, recorder.alerts),
                "/pm_monitor/explanation": (Explanation, recorder.explanations),
                "/pm_monitor/health": (HealthStatus, recorder.health),
                "/pm_monitor/rul": (RulEstimate, recorder.rul),
                "/pm_monitor/heatmap": (Image, recorder.heatmaps),
                "/rig/ground_truth": (RigGroundTruth, recorder.truth)}
    read_back: dict[str, list] = {topic: [] for topic in received}
    for message in read_messages(out_dir / "recording"):
        if message.topic in received:
            read_back[message.topic].append(
                deserialize_message(message.cdr, received[message.topic][0]))
    for topic, (_, messages) in received.items():
        assert messages, f"nothing received on {topic}"
        # field by field; through JSON so that NaN fields compare equal (Alert's
        # velocity_rms_mm_s is NaN when unknown, and NaN != NaN)
        assert [_fields(m) for m in read_back[topic]] == [_fields(m) for m in messages], topic
    assert summary["recorded_messages"] >= sum(len(m) for _, m in received.values())


def test_mcap_is_readable_without_rclpy_and_types_match_rosidl(recorded_run):
    _, out_dir, _, _ = recorded_run
    (mcap_file,) = (out_dir / "recording").glob("*.mcap")
    alerts = [m.decode() for m in read_messages(mcap_file, topics=["/pm_monitor/alert"])]
    assert alerts and alerts[0].alert_id.startswith("rig_1-")
    # the type hash stored for ROS tools equals the one rosidl generated for the package
    installed = list(Path(__file__).resolve().parents[2].glob(
        ".ros_ws/install/pm_monitor/share/pm_monitor/msg/Alert.json"))
    if installed:
        hashes = json.loads(installed[0].read_text())["type_hashes"]
        expected = next(h["hash_string"] for h in hashes if h["type_name"].endswith("/Alert"))
        assert typestore().hash_rihs01("pm_monitor/msg/Alert") == expected


def test_known_fault_shows_in_the_recorded_messages(recorded_run):
    recorder, _, _, done = recorded_run
    raised = [a for a in recorder.alerts if a.event == Alert.EVENT_RAISED]
    assert len(raised) == 1
    assert max(a.state for a in recorder.alerts) >= Alert.WARNING
    assert any(a.localized and a.location == "de_bearing" for a in recorder.alerts)
    assert {a.fault_type for a in recorder.alerts if a.state >= Alert.WARNING} == {"outer_race"}
    assert len(recorder.explanations) == len(done) >= 2
    assert {e.alert_id for e in recorder.explanations} == {raised[0].alert_id}
    for outcome in done:
        assert outcome.computation_s > 0


def test_report_from_the_recording(recorded_run):
    _, out_dir, summary, _ = recorded_run
    report = out_dir / "report"
    assert Path(summary["report"]) == report / "index.html"
    page = (report / "index.html").read_text()
    for name in ("timeline.png", "importance.png", "heatmaps.png"):
        assert (report / name).stat().st_size > 20_000, name
        assert f"src='{name}'" in page
    run = load_run(out_dir)
    assert run.kind == "mcap" and len(run.health) == 50 and run.truth and run.rul
    assert run.alerts[0].alert_id in page and "outer_race" in page
    assert run.truth[0].t_s == pytest.approx(1.0)  # times from the rig's t = 0


def test_report_command_and_bad_input(recorded_run, tmp_path, capsys):
    _, out_dir, _, _ = recorded_run
    assert report_main([str(out_dir / "recording"), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "index.html").is_file()
    assert report_main([str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(RecordingError, match="not a recording"):
        list(read_messages(tmp_path))


def test_report_from_demo_json_lines_without_a_recording(recorded_run, tmp_path):
    _, out_dir, _, _ = recorded_run
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in ("alerts.jsonl", "explanations.jsonl"):
        shutil.copy(out_dir / name, demo / name)
    shutil.copytree(out_dir / "heatmaps", demo / "heatmaps")
    run = load_run(demo)
    assert run.kind == "jsonl" and run.alerts and run.explanations and run.heatmaps
    assert report_main([str(demo), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "timeline.png").is_file()
