"""In-process rclpy test of the RUL node: SensorChunks in, RulEstimate out; bad chunks are
refused without stopping the node; a bad model file is a clear start-up error."""
from __future__ import annotations

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_wait import spin_until
from rul_fakes import small_prognosis

from pm_monitor.core.rul.prognosis import PrognosisModelError
from pm_monitor.msg import RulEstimate, RulExplanation, SensorChunk
from pm_monitor.nodes import conversions as conv
from pm_monitor.nodes.rul_node import CHUNK_QOS, RulNode

EPOCH_NS = 1_700_000_000 * 10**9
FS = 25600.0


def vibration(n: int, amplitude: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tone = amplitude * np.sin(2 * np.pi * 3000.0 * np.arange(n) / FS)
    return np.stack([tone + 0.1 * rng.normal(size=n), tone + 0.1 * rng.normal(size=n)], 1)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rul") / "tiny_rul.json"
    small_prognosis().save(path)
    return path


@pytest.fixture(scope="module")
def uncalibrated_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rul") / "uncalibrated.json"
    small_prognosis(calibrated=False).save(path)
    return path


def _listener(ros_context, name: str, rul_depth: int
              ) -> tuple[Node, list[RulEstimate], list[DiagnosticArray]]:
    """A client node collecting rul_node's estimates and /diagnostics."""
    client = Node(name, context=ros_context)
    estimates: list[RulEstimate] = []
    diagnostics: list[DiagnosticArray] = []
    client.create_subscription(RulEstimate, "/rul_node/rul", estimates.append, rul_depth)
    client.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    return client, estimates, diagnostics


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
        Parameter("diagnostics_period_s", value=0.1), Parameter("explain_every", value=1)])
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
        assert last.asset_id == "b1" and last.model_name == "rul_prognosis"
        assert last.rul_lower_s <= last.rul_s <= last.rul_upper_s
        assert last.valid and last.evidence_kind == "population_prior"
        assert last.point_kind == "median" and last.rul_s == pytest.approx(last.rul_median_s)
        assert last.rul_phm_optimal_s <= last.rul_median_s  # late is punished harder
        assert last.elapsed_s == pytest.approx(20.1, abs=0.01) and not last.onset_detected
        assert 0.0 <= last.health_index <= 1.0
        assert last.interval_coverage == pytest.approx(0.8)
        assert node.estimator.stats.inputs["accel"].rejected == 1
        # the onset comes from the any-machine monitor on the shipped FEMTO asset description
        assert node.estimator.monitor is not None
        assert node.estimator.monitor.asset.asset_id == "b1"
        assert node.estimator.diagnostics()["onset_source"] == "any-machine monitor (b1)"
        statuses = {s.name: s for s in diagnostics[-1].status}
        assert any("input accel" in name for name in statuses)
        # estimates are explained on the worker: indicators x time blocks of the recent window
        spin_until(executor, lambda: len(explanations) >= 1, timeout_s=30.0)
        explanation = explanations[-1]
        assert explanation.asset_id == "b1" and explanation.explained_quantity == "rul_s"
        assert len(explanation.relevance) == (len(explanation.input_names)
                                              * len(explanation.block_start_s))
        assert explanation.method.startswith("shapley_value_sampling")
    finally:
        for n in (node, client):
            executor.remove_node(n)
            n.destroy_node()


def test_an_uncalibrated_model_publishes_nothing_valid(ros_context, executor,
                                                      uncalibrated_file):
    node = RulNode(context=ros_context, parameter_overrides=[
        Parameter("model_path", value=str(uncalibrated_file))])
    client = Node("rul_test_client2", context=ros_context)
    estimates: list[RulEstimate] = []
    client.create_subscription(RulEstimate, "/rul_node/rul", estimates.append, 10)
    publisher = client.create_publisher(SensorChunk, "accel", CHUNK_QOS)
    executor.add_node(node)
    executor.add_node(client)
    try:
        spin_until(executor, lambda: publisher.get_subscription_count() > 0)
        for i in range(2):
            publisher.publish(chunk(i, vibration(2560, 1.0, i)))
            spin_until(executor, lambda n=i: len(estimates) > n, timeout_s=5.0)
        assert len(estimates) == 2
        assert not any(e.valid for e in estimates)
        assert {e.evidence_kind for e in estimates} == {"not_calibrated"}
    finally:
        for n in (node, client):
            executor.remove_node(n)
            n.destroy_node()


def test_asset_file_none_means_no_onset_source(ros_context, model_file):
    node = RulNode(context=ros_context, parameter_overrides=[
        Parameter("model_path", value=str(model_file)), Parameter("asset_file", value="none")])
    try:
        assert node.estimator.asset is None
        assert node.estimator.diagnostics()["onset_source"] == "none"
    finally:
        node.destroy_node()


def test_missing_model_file_is_a_clear_error(ros_context, tmp_path):
    with pytest.raises(PrognosisModelError, match="absent"):
        RulNode(context=ros_context, parameter_overrides=[
            Parameter("model_path", value=str(tmp_path / "absent.json"))])


def test_a_rated_prior_needs_the_operating_condition(ros_context):
    with pytest.raises(ValueError, match="rpm and load_n"):
        RulNode(context=ros_context, parameter_overrides=[])  # shipped FEMTO model, no rpm


def test_parameters_carry_ranges_and_out_of_range_values_are_refused(ros_context, model_file):
    from rclpy.exceptions import ParameterException

    node = RulNode(context=ros_context,
                   parameter_overrides=[Parameter("model_path", value=str(model_file))])
    try:
        period = node.describe_parameter("update_period_s")
        assert period.floating_point_range[0].from_value == 0.01
        assert not node.set_parameters([Parameter("rpm", value=-1.0)])[0].successful
    finally:
        node.destroy_node()
    with pytest.raises(ParameterException, match="update_period_s"):
        RulNode(context=ros_context,
                parameter_overrides=[Parameter("model_path", value=str(model_file)),
                                     Parameter("update_period_s", value=0.0)])


def _amplitude(i: int) -> float:
    return 1.0 if i < 15 else 1.0 + 0.5 * (i - 14)  # healthy, then a growing level


def _restart_node(ros_context, model_file, reference_dir, **extra):
    params = [Parameter("model_path", value=str(model_file)), Parameter("asset_id", value="b7"),
              Parameter("reference_dir", value=str(reference_dir)),
              Parameter("explain_every", value=0), Parameter("diagnostics_period_s", value=0.1)]
    return RulNode(context=ros_context, parameter_overrides=params + [
        Parameter(k, value=v) for k, v in extra.items()])


def _run_snapshots(executor, node, client, snapshots, estimates):
    publisher = client.create_publisher(SensorChunk, "accel", CHUNK_QOS)
    executor.add_node(node)
    try:
        assert spin_until(executor, lambda: publisher.get_subscription_count() > 0)
        for i in snapshots:
            wanted = len(estimates) + 1
            publisher.publish(chunk(i, vibration(2560, _amplitude(i), i)))
            assert spin_until(executor, lambda w=wanted: len(estimates) >= w, timeout_s=10.0)
    finally:
        client.destroy_publisher(publisher)
        executor.remove_node(node)


def test_the_rul_survives_a_restart_of_the_node_and_reset_forgets_it(
        ros_context, executor, model_file, tmp_path):
    """Stopped after the onset and started again on the same reference_dir: the estimates go
    on as if the node had never stopped (the snapshot gaps counted, as FEMTO's acquisition
    runs between snapshots); ~/commission reset = a new bearing."""
    from pm_monitor.core.assets.description import load as load_asset
    from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
    from pm_monitor.core.rul.prognosis import PrognosisModel
    from pm_monitor.nodes.rul_node import default_asset_path
    from pm_monitor.srv import Commission

    expected = LiveRulEstimator(PrognosisModel.load(model_file),
                                LiveConfig(model_name="rul_prognosis"),
                                load_asset(default_asset_path()), asset_id="b7")
    truth = []
    for i in range(26):
        frames = vibration(2560, _amplitude(i), i).astype(np.float32)
        msg = chunk(i, frames)
        truth += expected.on_chunk(conv.stamp_to_ns(msg.header.stamp), FS, list(
            msg.channel_names), "g", msg.first_sample_index, frames.reshape(-1))
    client = Node("rul_restart_client", context=ros_context)
    estimates: list[RulEstimate] = []
    client.create_subscription(RulEstimate, "/rul_node/rul", estimates.append, 100)
    executor.add_node(client)
    first = _restart_node(ros_context, model_file, tmp_path, count_downtime=True)
    try:
        _run_snapshots(executor, first, client, range(22), estimates)
    finally:
        first.destroy_node()  # the node stops (state saved with its last estimate)
    assert estimates[-1].onset_detected, "the stop must come after the onset"
    second = _restart_node(ros_context, model_file, tmp_path, count_downtime=True)
    try:
        assert second.estimator.state_status.startswith("restored")
        _run_snapshots(executor, second, client, range(22, 26), estimates)
        assert len(estimates) == len(truth) == 26
        for got, want in zip(estimates, truth, strict=True):
            assert got.valid == want.valid and got.evidence_kind == want.evidence
            assert got.elapsed_s == pytest.approx(want.elapsed_s, abs=1e-6)
            assert got.rul_s == pytest.approx(want.rul_s, rel=1e-5)
            assert got.onset_detected == (want.onset_s is not None)
        assert estimates[-1].evidence_kind == "condition_based" and estimates[-1].valid
        executor.add_node(second)
        service = client.create_client(Commission, "/rul_node/commission")
        assert spin_until(executor, service.service_is_ready)
        future = service.call_async(Commission.Request(command="reset"))
        assert spin_until(executor, future.done)
        answer = future.result()
        assert answer.success and answer.asset_id == "b7" and not answer.complete
        assert "RUL state: new asset (reset)" in answer.message
        assert not list(tmp_path.rglob("*.json"))  # state and onset reference forgotten
        executor.remove_node(second)
    finally:
        second.destroy_node()
        executor.remove_node(client)
        client.destroy_node()


def test_a_corrupt_state_file_is_said_and_nothing_is_valid(ros_context, executor, model_file,
                                                          tmp_path):
    state = tmp_path / "rul_state" / "b7.rul_state.json"
    state.parent.mkdir()
    state.write_text("{not json")
    node = _restart_node(ros_context, model_file, tmp_path)
    client, estimates, diagnostics = _listener(ros_context, "rul_corrupt_client", 10)
    executor.add_node(client)
    try:
        _run_snapshots(executor, node, client, range(2), estimates)
        executor.add_node(node)
        assert spin_until(executor, lambda: any(
            s.name == "rul_node: models" for d in diagnostics for s in d.status))
        executor.remove_node(node)
        models = [s for d in diagnostics for s in d.status if s.name == "rul_node: models"][-1]
        assert models.level == DiagnosticStatus.WARN and "refused" in models.message
        assert "unreadable" in {kv.key: kv.value for kv in models.values}["rul_state"]
        assert estimates and not any(e.valid for e in estimates)
        assert state.read_text() == "{not json"  # never overwritten
    finally:
        node.destroy_node()
        executor.remove_node(client)
        client.destroy_node()


def test_a_refitted_model_goes_on_from_the_stored_history_and_says_so(
        ros_context, executor, model_file, tmp_path):
    """A software update: rul_node stopped after the onset and started with a refitted model
    (other failure levels) on the same reference_dir keeps the operating time and the onset,
    publishes valid estimates with the note, and /diagnostics rul_state says "migrated"."""
    from dataclasses import replace

    from pm_monitor.core.rul.prognosis import PrognosisModel

    refit_file = tmp_path / "refit.json"
    model = PrognosisModel.load(model_file)
    replace(model, failure_levels=(1.6, 2.5)).save(refit_file)
    client, estimates, diagnostics = _listener(ros_context, "rul_refit_client", 100)
    executor.add_node(client)
    refs = tmp_path / "refs"
    first = _restart_node(ros_context, model_file, refs, count_downtime=True)
    try:
        _run_snapshots(executor, first, client, range(22), estimates)
    finally:
        first.destroy_node()
    before = estimates[-1]
    assert before.onset_detected and before.valid and before.note == ""
    second = _restart_node(ros_context, refit_file, refs, count_downtime=True)
    try:
        assert second.estimator.state_status.startswith("migrated")
        _run_snapshots(executor, second, client, range(22, 24), estimates)
        after = estimates[22]
        assert after.valid and after.evidence_kind == "condition_based"
        assert after.onset_elapsed_s == before.onset_elapsed_s
        assert after.elapsed_s == pytest.approx(before.elapsed_s + 10.0, abs=1e-3)
        assert "RUL model changed" in after.note
        assert "damage recomputed by the new model" in after.note
        diagnostics.clear()  # the first node's are in it
        executor.add_node(second)
        assert spin_until(executor, lambda: any(
            s.name == "rul_node: models" for d in diagnostics for s in d.status))
        executor.remove_node(second)
        models = [s for d in diagnostics for s in d.status if s.name == "rul_node: models"][-1]
        values = {kv.key: kv.value for kv in models.values}
        assert values["rul_state"].startswith("migrated") and "RUL model changed" in \
            values["rul_state"]
        assert models.level == DiagnosticStatus.OK  # the history was kept: nothing to do
    finally:
        second.destroy_node()
        executor.remove_node(client)
        client.destroy_node()
