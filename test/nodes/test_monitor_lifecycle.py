"""The monitor as a lifecycle node: transitions, errors at configure, dynamic parameters."""
from __future__ import annotations

import shutil
import time

import pytest
from lifecycle_msgs.srv import GetState
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.nodes.monitor_node import MonitorNode, default_model_dir
from pm_monitor.sim.fault_schedule import FaultSchedule


@pytest.fixture
def make_monitor(ros_context, executor):
    made: list[Node] = []

    def make(**params) -> MonitorNode:
        node = MonitorNode(context=ros_context, parameter_overrides=[
            Parameter(k, value=v) for k, v in params.items()])
        executor.add_node(node)
        made.append(node)
        return node

    yield make
    for node in made:
        executor.remove_node(node)
        node.destroy_node()


def _state(executor, context, node_name: str = "pm_monitor") -> str:
    """The lifecycle state as a lifecycle manager sees it: the ~/get_state service."""
    client_node = Node("state_probe", context=context)
    executor.add_node(client_node)
    try:
        client = client_node.create_client(GetState, f"/{node_name}/get_state")
        assert client.wait_for_service(timeout_sec=5.0)
        future = client.call_async(GetState.Request())
        end = time.monotonic() + 5.0
        while not future.done() and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        return future.result().current_state.label
    finally:
        executor.remove_node(client_node)
        client_node.destroy_node()


def _input_topics(node: MonitorNode) -> set[str]:
    return {name for name, _ in node.get_subscriber_names_and_types_by_node(
        node.get_name(), node.get_namespace())}


def _graph_shows(node: MonitorNode, executor, predicate, timeout_s: float = 5.0) -> bool:
    """The ROS graph is updated asynchronously (after other nodes' tests it can lag a little):
    wait until `predicate(topics)` holds."""
    end = time.monotonic() + timeout_s
    while not predicate(_input_topics(node)) and time.monotonic() < end:
        executor.spin_once(timeout_sec=0.05)
    return predicate(_input_topics(node))


def test_transitions_load_subscribe_and_release(make_monitor, executor, ros_context):
    node = make_monitor(autostart=False)
    assert node.pipeline is None and _state(executor, ros_context) == "unconfigured"
    node.trigger_configure()
    assert node.pipeline is not None and not node.active
    assert _graph_shows(node, executor, lambda topics: "/accel" not in topics)
    node.trigger_activate()
    assert _state(executor, ros_context) == "active"
    inputs = {"/accel", "/mic", "/thermal/image_raw", "/camera/image_raw"}
    assert _graph_shows(node, executor, lambda topics: inputs <= topics)
    node.trigger_deactivate()
    assert _graph_shows(node, executor, lambda topics: "/accel" not in topics)
    assert node.pipeline is not None
    node.trigger_cleanup()
    assert node.pipeline is None and _state(executor, ros_context) == "unconfigured"
    node.trigger_configure()  # configurable again after cleanup
    assert node.pipeline is not None


def test_missing_or_corrupt_model_goes_to_error_processing_and_back(
        make_monitor, executor, ros_context, tmp_path):
    corrupt = tmp_path / "bundle"
    shutil.copytree(default_model_dir(), corrupt)
    (corrupt / "thermal_localizer.pt").write_bytes(b"\x00garbage")
    for model_dir in (str(tmp_path / "nowhere"), str(corrupt)):
        node = make_monitor(model_dir=model_dir)  # autostart tries and fails
        assert not node.active and node.pipeline is None
        assert node.last_error.startswith("cannot load models")
        assert _state(executor, ros_context) == "unconfigured"  # alive, for a retry
        executor.remove_node(node)
        node.destroy_node()


def test_bad_start_up_configuration_lists_every_problem_at_configure(make_monitor):
    node = make_monitor(image_slop_s=1, heatmap_alpha=3.0, alert_on_delay=2)
    assert not node.active
    assert node.last_error.startswith("invalid configuration: 3 configuration problems")
    for name in ("image_slop_s", "heatmap_alpha", "alert_on_delay"):
        assert name in node.last_error


def test_dynamic_parameters_apply_at_once_and_invalid_ones_are_refused(make_monitor):
    node = make_monitor()
    pipeline = node.pipeline
    results = node.set_parameters([Parameter("image_slop_s", value=0.3),
                                   Parameter("alarm.on_delay_windows_warning", value=4),
                                   Parameter("thermal_raw_scale", value=0.1)])
    assert all(r.successful for r in results)
    assert pipeline.assembler.config.images[0].slop_s == 0.3
    assert pipeline.alarms.config.on_delay_windows_warning == 4
    assert pipeline.radiometric.scale == 0.1
    refused = {
        "heatmap_alpha": node.set_parameters([Parameter("heatmap_alpha", value=1.5)])[0],
        "model_dir": node.set_parameters([Parameter("model_dir", value="/x")])[0],
        "alarm.off_delay_windows_warning": node.set_parameters(
            [Parameter("alarm.off_delay_windows_warning", value=2.5)])[0],
        "backend": node.set_parameters([Parameter("backend", value="torch")])[0],
    }
    for name, result in refused.items():
        assert not result.successful and result.reason, name
    assert node.get_parameter("heatmap_alpha").value == 0.45
    assert node.pipeline is pipeline  # applied in place: nothing buffered was dropped


@pytest.mark.parametrize("silent", [("thermal",), ("mic", "thermal")],
                         ids=["thermal", "mic_and_thermal"])
def test_long_missing_modality_is_named_in_every_decision(make_monitor, executor, silent):
    """Thermal and camera (and the microphone) silent from the start: the monitor keeps
    deciding on accel + mic (accel alone) - the shipped rig bundle's held-out evidence enables
    deciding without thermal, and without mic and thermal - and every HealthStatus says so,
    which modalities it used and which of the model set's inputs were missing (the rig set
    takes no camera: a silent camera is no missing input)."""
    from rig_feed import RigFeed

    from pm_monitor.msg import HealthStatus

    node = make_monitor(modality_timeout_s=1.0)
    client = Node("health_listener", context=node.context)
    health: list[HealthStatus] = []
    client.create_subscription(HealthStatus, "/pm_monitor/health", health.append, 100)
    executor.add_node(client)
    try:
        feed = RigFeed(client, executor, FaultSchedule())
        feed.run_until(12.0, node, skip=frozenset({*silent, "camera"}))
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.02)
    finally:
        executor.remove_node(client)
        client.destroy_node()
    assert len(health) >= 18
    for msg in health:
        assert set(msg.modalities_missing) == set(silent)
        assert set(msg.modalities_used) == {"accel", "mic"} - set(silent)
    decided = [msg for msg in health if msg.decision_basis]
    without = ", ".join(silent)
    assert decided and all(msg.decision_basis[0] == f"rig_stage1 without {without}"
                           for msg in decided)
    assert any(note.startswith(f"decided without {without} (held-out: ")
               for note in decided[-1].notes)
    assert all(msg.state == 0 for msg in decided)  # a healthy rig


def test_far_future_check_waits_for_a_sim_time_clock(make_monitor):
    """Under use_sim_time the clock is 0 until /clock arrives: no stamp is 'in the future'
    of that, so nothing is refused before the simulation clock is known."""
    import numpy as np

    node = make_monitor(use_sim_time=True, max_future_stamp_s=1.0)
    assert node._receive_clock_ns() is None
    stamp = 1_900_000_000 * 10**9  # 2030: far ahead of any wall clock today
    node.pipeline.on_chunk("accel", stamp, 25600.0, ["x", "y", "z"], 0,
                           np.zeros(3 * 512, np.float32), node._receive_clock_ns())
    assert node.pipeline.stats.inputs["accel"].rejected == 0


def test_array_parameters_from_ros2_param_set_are_accepted(make_monitor):
    """`ros2 param set ... "[2.3, 4.5, 7.1]"` arrives as array.array('d'), like every double
    array rclpy takes from a message; it used to be refused with "expected list, got array"."""
    import array

    from rcl_interfaces.msg import Parameter as ParameterMsg
    from rcl_interfaces.msg import ParameterType, ParameterValue

    node = make_monitor()
    value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY,
                           double_array_value=[2.3, 4.5, 7.1])
    parameter = Parameter.from_parameter_msg(
        ParameterMsg(name="alarm.iso_zone_boundaries_mm_s", value=value))
    assert isinstance(parameter.value, array.array)  # what the service hands the node
    (result,) = node.set_parameters([parameter])
    assert result.successful, result.reason
    assert node.pipeline.alarms.config.iso_zone_boundaries_mm_s == (2.3, 4.5, 7.1)
    (refused,) = node.set_parameters([Parameter(
        "alarm.iso_zone_boundaries_mm_s", Parameter.Type.INTEGER_ARRAY,
        array.array("q", [1, 2, 3]))])
    assert not refused.successful and "DOUBLE_ARRAY" in refused.reason


def test_shutdown_transition_releases_everything_and_asks_main_to_exit(make_monitor):
    node = make_monitor()
    assert node.active and not node.finished
    node.trigger_shutdown()
    assert node.finished  # main() spins until this, lingers for the reply, exits
    assert node.pipeline is None and node.outputs is None and not node.active
    assert node._input_subscriptions == [] and node._diag_timer is None


def test_a_second_publisher_on_an_input_is_reported_with_both_gids(make_monitor, executor):
    from pm_monitor.msg import SensorChunk
    from pm_monitor.nodes.diagnostics import ERROR

    node = make_monitor()
    drivers = [Node(name, context=node.context) for name in ("accel_driver", "foreign")]
    try:
        for driver in drivers:
            driver.create_publisher(SensorChunk, "/accel", 10)
            executor.add_node(driver)
        end = time.monotonic() + 10.0
        while len(node._input_publishers()["accel"]) < 2 and time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
        publishers = node._input_publishers()
        assert len(publishers["accel"]) == 2
        assert {p.split(" ")[0] for p in publishers["accel"]} == {"/accel_driver", "/foreign"}
        assert all("gid " in p for p in publishers["accel"])
        statuses = node.diagnostics.statuses(
            node.pipeline.stats, {}, {}, node._now_ns(), True, None, publishers)
        (accel,) = [s for s in statuses if s.name == "input accel"]
        assert accel.level == ERROR and "2 publishers on one input" in accel.message
    finally:
        for driver in drivers:
            executor.remove_node(driver)
            driver.destroy_node()
