"""In-process rclpy tests of the monitor node: simulated rig messages in, alerts out."""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rig_feed import EPOCH_NS, RigFeed
from ros_wait import spin_until
from sensor_msgs.msg import Image

from pm_monitor.core.types import HealthState
from pm_monitor.msg import Alert, Explanation, HealthStatus, RulEstimate, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.monitor_node import MonitorNode
from pm_monitor.nodes.qos import ALERT_QOS
from pm_monitor.sim.fault_schedule import FaultSchedule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def make_harness(ros_context, executor):
    """Build harnesses; destroy their nodes afterwards, or their transient-local alerts would
    reach the subscribers of later tests in this process."""
    built: list[Harness] = []

    def make(schedule: FaultSchedule, **params) -> Harness:
        built.append(Harness(ros_context, executor, schedule, **params))
        return built[-1]

    yield make
    for harness in built:
        for node in (harness.monitor, harness.client):
            executor.remove_node(node)
            node.destroy_node()


class Harness:
    def __init__(self, context, executor, schedule: FaultSchedule, **params) -> None:
        overrides = [Parameter(k, value=v) for k, v in params.items()]
        self.monitor = MonitorNode(context=context, parameter_overrides=overrides)
        self.client = Node("test_client", context=context)
        self.alerts: list[Alert] = []
        self.explanations: list[Explanation] = []
        self.health: list[HealthStatus] = []
        self.heatmaps: list[Image] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.rul: list[RulEstimate] = []
        c = self.client
        c.create_subscription(RulEstimate, "/pm_monitor/rul", self.rul.append, 200)
        c.create_subscription(Alert, "/pm_monitor/alert", self.alerts.append, ALERT_QOS)
        c.create_subscription(Explanation, "/pm_monitor/explanation",
                              self.explanations.append, 50)
        c.create_subscription(HealthStatus, "/pm_monitor/health", self.health.append, 200)
        c.create_subscription(Image, "/pm_monitor/heatmap", self.heatmaps.append, 50)
        c.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 50)
        executor.add_node(self.monitor)
        executor.add_node(self.client)
        self.executor = executor
        self.feed = RigFeed(self.client, executor, schedule)

    def settle(self, seconds: float = 0.5) -> None:
        import time
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)


def test_injected_fault_raises_alerts_with_state_hotspot_and_explanation(make_harness):
    h = make_harness(FaultSchedule.from_yaml(FIXTURES / "fast_outer_race.yaml"))
    h.feed.run_until(32.0, h.monitor)
    h.settle(1.0)
    assert h.health, "the monitor published no per-window health status"
    raised = [a for a in h.alerts if a.event == Alert.EVENT_RAISED]
    assert raised, "no alert raised for an injected outer race fault"
    first_t = (conv.stamp_to_ns(raised[0].header.stamp) - EPOCH_NS) / 1e9
    assert first_t >= 4.0, f"alert at {first_t:.1f} s, before the fault's onset at 4 s"
    worst = max(a.state for a in h.alerts)
    assert worst >= HealthState.WARNING
    localized = [a for a in h.alerts if a.localized]
    assert localized, "no alert was localised by Stage 2"
    truth_xy = next(t.hotspot_px for t in reversed(h.feed.truth) if t.hotspot_px is not None)
    last = localized[-1]
    assert math.dist((last.hotspot_x, last.hotspot_y), truth_xy) < 20
    assert last.location == "de_bearing"
    assert {e.alert_id for e in h.explanations} <= {a.alert_id for a in h.alerts}
    assert h.explanations and len(h.explanations[-1].sensor_names) > 0
    last = h.explanations[-1]
    # asynchronous: it says how long it took; the live explainer adds a counterfactual
    assert last.computation_time_s > 0 and last.summary
    assert last.counterfactual_computed and last.counterfactual_target == "normal"
    assert len(last.counterfactual_features) == len(last.counterfactual_needed_values)
    assert h.heatmaps and h.heatmaps[-1].encoding == "rgb8"
    # the monitor's own ~/rul: the rig model set's RUL stage (models/rul_rig), one estimate per
    # second of stream; before its onset monitor has its 30 s reference, the calibrated prior
    assert len(h.rul) >= 25, f"{len(h.rul)} RulEstimates in 32 s"
    stamps = np.array([conv.stamp_to_ns(m.header.stamp) for m in h.rul])
    assert np.allclose(np.diff(stamps), 1e9, atol=1e6)
    first = h.rul[0]
    assert first.valid and first.evidence_kind == "population_prior" and first.point_kind
    assert first.rul_lower_s <= first.rul_median_s <= first.rul_upper_s
    assert first.elapsed_s == pytest.approx(1.0) and not first.onset_detected
    assert first.model_name == "rul_rig" and first.interval_coverage == pytest.approx(0.8)
    assert all(m.valid for m in h.rul)
    with_rul = [a for a in h.alerts if a.rul_known]
    assert with_rul and with_rul[-1].rul_s > 0  # alerts carry the valid estimate


def test_healthy_machine_raises_no_alert(make_harness):
    h = make_harness(FaultSchedule())
    h.feed.run_until(25.0, h.monitor)
    h.settle(0.5)
    assert len(h.health) >= 40
    assert [a.summary for a in h.alerts] == []


def _chunk(t_s: float, index: int, n: int = 1280, channels=("x", "y", "z"),
           rate: float = 25600.0, fill: float = 0.1) -> SensorChunk:
    frames = np.full((n, len(channels)), fill, np.float32)
    return conv.numpy_to_chunk(frames, EPOCH_NS + int(t_s * 1e9), "accel", rate,
                               list(channels), "m/s^2", index)


def _bad_inputs():
    """(input name, message factory, expected reason fragment) for each bad input."""
    good_thermal = np.full((120, 160), 30.0, np.float32)
    wrong_encoding = conv.numpy_to_image(good_thermal, "32FC1", EPOCH_NS + 10**9, "t")
    wrong_encoding.encoding = "bayer_rggb8"
    wrong_step = conv.numpy_to_image(good_thermal, "32FC1", EPOCH_NS + 10**9, "t")
    wrong_step.step = 10
    wrong_size = conv.numpy_to_image(good_thermal, "32FC1", EPOCH_NS + 10**9, "t")
    wrong_size.height = 121
    nan_chunk = _chunk(1.0, 25600)
    samples = np.asarray(nan_chunk.samples)
    samples[5] = np.nan
    nan_chunk.samples = samples
    inf_chunk = _chunk(1.0, 25600)
    samples = np.asarray(inf_chunk.samples)
    samples[7] = np.inf
    inf_chunk.samples = samples
    mismatch = _chunk(1.0, 25600)
    mismatch.samples = np.asarray(mismatch.samples)[:-1]
    zero_rate = _chunk(1.0, 25600, rate=0.0)
    zero_size = conv.numpy_to_image(good_thermal, "32FC1", EPOCH_NS + 10**9, "t")
    zero_size.height, zero_size.width, zero_size.step, zero_size.data = 0, 0, 0, []
    huge = conv.numpy_to_image(good_thermal, "32FC1", EPOCH_NS + 10**9, "t")
    huge.height, huge.width, huge.step = 50_000, 50_000, 200_000
    far_future = _chunk(1.0, 25600)
    far_future.header.stamp = conv.ns_to_stamp(time.time_ns() + 7200 * 10**9)
    return [
        ("thermal", wrong_encoding, "unsupported encoding"),
        ("thermal", wrong_step, "step 10"),
        ("thermal", wrong_size, "data length"),
        ("accel", nan_chunk, "NaN or Inf"),
        ("accel", inf_chunk, "NaN or Inf"),
        ("accel", mismatch, "not a multiple of 3"),
        ("accel", zero_rate, "sample_rate"),
        ("accel", _chunk(1.0, 25600, channels=("x", "y")), "the models take 3"),
        ("accel", _chunk(1.0, 25600, rate=-25600.0), "sample_rate"),
        ("thermal", zero_size, "zero-size image"),
        ("thermal", huge, "exceeds the limit"),
        ("accel", far_future, "ahead of the clock"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_inputs())))
def test_bad_input_is_rejected_counted_and_reported_and_node_keeps_running(
        make_harness, case):
    name, bad_msg, reason = _bad_inputs()[case]
    h = make_harness(FaultSchedule(), diagnostics_period_s=0.2)
    h.feed.run_until(3.0, h.monitor)
    windows_before = h.monitor.pipeline.stats.inference.windows
    topic = {"thermal": "thermal", "accel": "accel"}[name]
    h.feed.pubs[topic].publish(bad_msg)
    h.feed.wait_received(h.monitor, h.feed.published + 1)
    h.feed.published += 1
    stats = h.monitor.pipeline.stats.inputs[name]
    assert stats.rejected == 1 and reason in stats.last_error
    h.feed.run_until(6.0, h.monitor)   # valid data after the bad message is still processed
    h.settle(0.6)
    assert h.monitor.pipeline.stats.inference.windows > windows_before
    statuses = [s for d in h.diagnostics for s in d.status if s.name.endswith(f"input {name}")]
    warned = [s for s in statuses if s.level == DiagnosticStatus.WARN]
    assert warned and reason in warned[0].message and warned[0].message.startswith(name)


def test_stamps_going_backwards_reset_the_synchroniser_with_a_warning(make_harness):
    h = make_harness(FaultSchedule())
    h.feed.run_until(5.0, h.monitor)
    windows_before = h.monitor.pipeline.stats.inference.windows
    # a sensor whose clock jumped back 4 s (driver restart / bag loop)
    h.feed.pubs["accel"].publish(_chunk(1.0, 10**7))
    h.feed.wait_received(h.monitor, h.feed.published + 1)
    h.feed.published += 1
    assert h.monitor.pipeline.assembler.stats.events_by_kind["time_backwards"] >= 1
    h.feed.run_until(8.0, h.monitor)
    assert h.monitor.pipeline.stats.inference.windows > windows_before


def test_corrupt_model_file_and_invalid_parameter_give_a_clear_error(tmp_path):
    import shutil
    import subprocess
    import sys

    from pm_monitor.nodes.monitor_node import default_model_dir

    corrupt = tmp_path / "bundle"
    shutil.copytree(default_model_dir(), corrupt)
    (corrupt / "stage1_bilstm.pt").write_bytes(b"not a torch file")
    runs = {
        "cannot load models": ["-p", f"model_dir:={corrupt}"],
        "invalid configuration": ["-p", "alarm.on_delay_windows_warning:=0"],
    }
    for message, params in runs.items():
        proc = subprocess.run(
            [sys.executable, "-m", "pm_monitor.nodes.monitor_node", "--ros-args", *params],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1
        assert message in proc.stderr and "Traceback" not in proc.stderr


def test_the_monitors_rul_survives_a_restart_and_commission_reset_forgets_it(make_harness,
                                                                            tmp_path):
    """The rig set's RUL stage keeps its state under reference_dir: a monitor started again
    goes on from the stored operating time (not a new bearing's 0), and ~/commission reset
    (a new bearing fitted) forgets it."""
    from pm_monitor.srv import Commission

    refs = tmp_path / "refs"
    first = make_harness(FaultSchedule(), reference_dir=str(refs), asset_id="rig_7")
    first.feed.run_until(6.0, first.monitor)
    first.settle(0.3)
    assert first.rul and first.rul[-1].valid
    stored_s = first.rul[-1].elapsed_s
    first.monitor.trigger_deactivate()  # the first monitor goes away
    first.monitor.trigger_cleanup()
    assert (refs / "monitor_rul_state" / "rig_7.rul_state.json").is_file()
    second = make_harness(FaultSchedule(), reference_dir=str(refs), asset_id="rig_7")
    assert second.monitor.rul_stage().status()["rul_state"].startswith("restored")
    second.feed.run_until(3.0, second.monitor)  # the rig's stamps start again from 0
    second.settle(0.3)
    assert second.rul and second.rul[0].elapsed_s == pytest.approx(stored_s + 1.0, abs=1e-3)
    client = second.client.create_client(Commission, "/pm_monitor/commission")
    assert spin_until(second.executor, client.service_is_ready)
    future = client.call_async(Commission.Request(command="reset"))
    assert spin_until(second.executor, future.done)
    answer = future.result()
    assert answer.success and "RUL state: new asset (reset)" in answer.message
    assert not list(refs.rglob("*.json"))
