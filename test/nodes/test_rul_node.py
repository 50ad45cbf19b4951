"""In-process rclpy test of the RUL node: SensorChunks in, RulEstimate out; bad chunks are
refused without stopping the node; a bad model file is a clear start-up error."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_wait import spin_until

from pm_monitor.core.rul.ensemble import Calibration, RulEnsemble, RulModelError, SequenceConfig
from pm_monitor.core.rul.network import OUTPUT_NAMES, NetConfig, RulNet
from pm_monitor.core.rul.snapshot import SnapshotConfig
from pm_monitor.msg import RulEstimate, RulExplanation, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.rul_node import CHUNK_QOS, RulNode

EPOCH_NS = 1_700_000_000 * 10**9
FS = 25600.0


def small_ensemble() -> RulEnsemble:
    """An untrained two-member model: the node's plumbing, not the model, is under test."""
    torch.manual_seed(0)
    calibration = Calibration(0.8, {name: [(-0.1, 0.1)] * 4 for name in OUTPUT_NAMES})
    return RulEnsemble([RulNet(NetConfig()) for _ in range(2)], np.zeros(7), np.ones(7),
                       SnapshotConfig(), SequenceConfig(), calibration)


def vibration(n: int, amplitude: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tone = amplitude * np.sin(2 * np.pi * 3000.0 * np.arange(n) / FS)
    return np.stack([tone + 0.1 * rng.normal(size=n), tone + 0.1 * rng.normal(size=n)], 1)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rul") / "tiny_rul.pt"
    small_ensemble().save(path)
    return path


def chunk(snapshot: int, frames: np.ndarray, unit: str = "g") -> SensorChunk:
    first = snapshot * 10 * int(FS)  # one 0.1 s snapshot every 10 s, as FEMTO
    msg = SensorChunk()
    msg.header.stamp = conv.ns_to_stamp(EPOCH_NS + round(first * 1e9 / FS))
    msg.header.frame_id = "bearing"
    msg.sample_rate = FS
    msg.channel_names = ["horizontal", "vertical"]
    msg.unit = unit
    msg.first_sample_index = first
    msg.samples = frames.reshape(-1).astype(np.float32).tolist()
    return msg


def test_chunks_in_rul_estimate_out_and_bad_chunks_refused(ros_context, executor, model_file):
    node = RulNode(context=ros_context, parameter_overrides=[
        Parameter("model_path", value=str(model_file)), Parameter("asset_id", value="b1"),
        Parameter("diagnostics_period_s", value=0.1)])
    client = Node("rul_test_client", context=ros_context)
    estimates: list[RulEstimate] = []
    diagnostics: list[DiagnosticArray] = []
    explanations: list[RulExplanation] = []
    client.create_subscription(RulEstimate, "/rul_node/rul", estimates.append, 10)
    client.create_subscription(RulExplanation, "/rul_node/rul_explanation",
                               explanations.append, 10)
    client.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    publisher = client.create_publisher(SensorChunk, "accel", CHUNK_QOS)
    executor.add_node(node)
    executor.add_node(client)
    try:
        spin_until(executor, lambda: publisher.get_subscription_count() > 0)
        bad = chunk(0, vibration(2560, 1.0, 0))
        bad.unit = "furlong"
        publisher.publish(bad)
        for i in range(3):
            publisher.publish(chunk(i, vibration(2560, 1.0, i)))
            spin_until(executor, lambda n=i: len(estimates) > n, timeout_s=5.0)
        spin_until(executor, lambda: len(diagnostics) > 2, timeout_s=3.0)
        assert len(estimates) == 3, "one RulEstimate per snapshot expected"
        last = estimates[-1]
        assert last.asset_id == "b1" and last.model_name == "tiny_rul"
        assert last.rul_lower_s <= last.rul_s <= last.rul_upper_s
        assert 0.0 <= last.health_index <= 1.0
        assert last.interval_coverage == pytest.approx(0.8)
        assert node.estimator.stats.inputs["accel"].rejected == 1
        statuses = {s.name: s for s in diagnostics[-1].status}
        assert any("input accel" in name for name in statuses)
        # each estimate is explained: relevance of the image + 7 features per snapshot
        spin_until(executor, lambda: len(explanations) >= 3, timeout_s=10.0)
        explanation = explanations[-1]
        assert explanation.header.stamp == last.header.stamp and explanation.asset_id == "b1"
        assert explanation.input_names[0] == "cwt_image"
        assert len(explanation.relevance) == 8 * len(explanation.block_start_s)
        assert explanation.conservation_error < 1e-3
        assert explanation.method.startswith("lrp_0")
    finally:
        for n in (node, client):
            executor.remove_node(n)
            n.destroy_node()


def test_missing_model_file_is_a_clear_error(ros_context, tmp_path):
    with pytest.raises(RulModelError, match="absent"):
        RulNode(context=ros_context, parameter_overrides=[
            Parameter("model_path", value=str(tmp_path / "absent.pt"))])


def test_parameters_carry_ranges_and_out_of_range_values_are_refused(ros_context, model_file):
    from rclpy.exceptions import ParameterException

    node = RulNode(context=ros_context,
                   parameter_overrides=[Parameter("model_path", value=str(model_file)),
                                        Parameter("backend", value="torch")])
    try:
        period = node.describe_parameter("update_period_s")
        assert period.floating_point_range[0].from_value == 0.01
        assert node.describe_parameter("backend").additional_constraints.startswith("one of")
        assert not node.set_parameters([Parameter("inference_threads", value=0)])[0].successful
    finally:
        node.destroy_node()
    with pytest.raises(ParameterException, match="update_period_s"):
        RulNode(context=ros_context,
                parameter_overrides=[Parameter("model_path", value=str(model_file)),
                                     Parameter("update_period_s", value=0.0)])
