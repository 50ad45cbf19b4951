"""/diagnostics statuses from the pipeline's counters: levels and readable messages."""
from __future__ import annotations

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus

from pm_monitor.core.pipeline import InputStats, PipelineStats
from pm_monitor.nodes.diagnostics import ERROR, OK, WARN, DiagnosticsReporter

S = 10**9
INPUTS = ["accel", "mic", "thermal", "camera"]
SYNC = {"windows_emitted": 10, "windows_dropped": 0, "no_data_s": 0.0, "windows_with_missing": 0,
        "frame_spread_mean_ms": 12.0, "resets": 0, "accel_gaps": 0, "mic_gaps": 0}


def _stats(**received: int) -> PipelineStats:
    stats = PipelineStats()
    for name, count in received.items():
        stats.inputs[name] = InputStats(received=count)
    return stats


def _by_name(statuses) -> dict:
    return {s.name: s for s in statuses}


def test_inputs_receiving_are_ok_with_their_rate():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", INPUTS, now_ns=0)
    statuses = _by_name(reporter.statuses(_stats(accel=50, mic=50, thermal=9, camera=30), SYNC,
                                          {"model_version": "v1", "backend": "torch"}, 1 * S))
    accel = statuses["input accel"]
    assert accel.level == OK and accel.message == "accel: 50.0 msg/s"
    assert accel.values["rate_hz"] == 50.0 and accel.values["gaps"] == 0
    assert statuses["models"].message == "v1"
    assert statuses["inference"].level == OK


def test_a_silent_input_warns_then_errors_with_how_long():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", INPUTS, now_ns=0, warn_after_s=2.0,
                                   error_after_s=30.0)
    reporter.statuses(_stats(thermal=9), SYNC, {}, 1 * S)
    warn = _by_name(reporter.statuses(_stats(thermal=9), SYNC, {}, int(13.3 * S)))
    assert warn["input thermal"].level == WARN
    assert warn["input thermal"].message == (
        "thermal: stale for 12.3 s; windows go on without it")
    assert warn["input camera"].message.startswith("camera: no message for 13.3 s")
    error = _by_name(reporter.statuses(_stats(thermal=9), SYNC, {}, 45 * S))
    assert error["input thermal"].level == ERROR
    assert error["input thermal"].message == "thermal: stale for 44.0 s"
    back = _by_name(reporter.statuses(_stats(thermal=20), SYNC, {}, 46 * S))
    assert back["input thermal"].level == OK


def test_inputs_the_models_do_not_take_are_never_stale_but_their_rejections_warn():
    reporter = DiagnosticsReporter("pm_monitor", "fan", INPUTS, now_ns=0,
                                   unused=("accel", "thermal", "camera"))
    reporter.statuses(_stats(mic=10), SYNC, {}, S)
    late = _by_name(reporter.statuses(_stats(mic=10), SYNC, {}, 100 * S))
    assert late["input mic"].level == ERROR  # the one input it needs went quiet
    for name in ("accel", "thermal", "camera"):
        assert late[f"input {name}"].level == OK
        assert late[f"input {name}"].message.startswith(f"{name}: not an input of the loaded")
    stats = _stats(mic=20, accel=3)
    stats.inputs["accel"].rejected = 3
    stats.inputs["accel"].last_error = "accel: not an input of the loaded model set"
    warn = _by_name(reporter.statuses(stats, SYNC, {}, 101 * S))
    assert warn["input accel"].level == WARN and "rejected 3" in warn["input accel"].message


def test_rejections_warn_with_the_reason_once():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", ["accel"], now_ns=0)
    stats = _stats(accel=10)
    stats.inputs["accel"].rejected = 2
    stats.inputs["accel"].last_error = "3 of 30 samples are NaN or Inf"
    (status,) = [s for s in reporter.statuses(stats, SYNC, {}, S) if s.name == "input accel"]
    assert status.level == WARN
    assert status.message == "accel: rejected 2: 3 of 30 samples are NaN or Inf"
    stats.inputs["accel"].received = 20
    (status,) = [s for s in reporter.statuses(stats, SYNC, {}, 2 * S)
                 if s.name == "input accel"]
    assert status.level == OK and status.values["rejected"] == 2


def test_gaps_drops_and_resets_warn():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", ["accel"], now_ns=0)
    reporter.statuses(_stats(accel=10), SYNC, {}, S)
    sync = {**SYNC, "accel_gaps": 2, "windows_dropped": 1}
    statuses = _by_name(reporter.statuses(_stats(accel=20), sync, {}, 2 * S))
    assert statuses["input accel"].level == WARN
    assert "2 gap(s)" in statuses["input accel"].message
    assert statuses["synchroniser"].level == WARN
    assert statuses["synchroniser"].message.startswith("dropped 1 window(s)")
    reset = _by_name(reporter.statuses(_stats(accel=30), {**sync, "resets": 1}, {}, 3 * S))
    assert reset["synchroniser"].level == WARN and "time jumped back" in \
        reset["synchroniser"].message


def test_inference_failures_are_errors_and_slow_windows_warnings():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", [], now_ns=0, latency_budget_ms=500)
    stats = PipelineStats()
    stats.inference.recent_ms.extend([10.0] * 98 + [900.0] * 2)
    stats.inference.windows = 100
    slow = _by_name(reporter.statuses(stats, SYNC, {"backend": "torch"}, S))["inference"]
    assert slow.level == WARN and "falling behind" in slow.message
    stats.inference.failures, stats.inference.last_failure = 1, "RuntimeError: bad shape"
    failed = _by_name(reporter.statuses(stats, SYNC, {}, 2 * S))["inference"]
    assert failed.level == ERROR
    assert failed.message == "1 window(s) failed: RuntimeError: bad shape"


def test_inactive_node_reports_inputs_as_not_subscribed_and_messages_are_built():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", ["accel"], now_ns=0)
    array = reporter.build(_stats(), SYNC, {"model_version": "v1"}, 100 * S,
                           Time(sec=100), active=False)
    statuses = {s.name: s for s in array.status}
    accel = statuses["pm_monitor: input accel"]
    assert accel.level == DiagnosticStatus.OK and "node inactive" in accel.message
    assert accel.hardware_id == "rig_1"
    assert "node inactive" in statuses["pm_monitor: models"].message


def test_time_without_data_is_reported_as_time_not_as_dropped_windows():
    """A stream whose stamps leap (a foreign publisher, a bad clock) leaves grid steps with no
    data at all: those are not windows that were lost, so "dropped" never exceeds what
    actually arrived (it read 2,418 dropped for ~60 real windows)."""
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", ["accel"], now_ns=0)
    reporter.statuses(_stats(accel=10), SYNC, {}, S)
    leap = {**SYNC, "no_data_s": 1209.0}
    status = _by_name(reporter.statuses(_stats(accel=20), leap, {}, 2 * S))["synchroniser"]
    assert status.level == WARN
    assert status.message.startswith("1209.0 s without any input data")
    assert "10 windows, 0 dropped" in status.message


def test_a_second_publisher_on_an_input_is_an_error_naming_both():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", ["accel", "mic"], now_ns=0)
    publishers = {"accel": ["/rig (gid 01.0f.aa)", "/foreign (gid 01.0f.bb)"],
                  "mic": ["/rig (gid 01.0f.cc)"]}
    statuses = _by_name(reporter.statuses(_stats(accel=10, mic=10), SYNC, {}, S,
                                          publishers=publishers))
    accel = statuses["input accel"]
    assert accel.level == ERROR
    assert "2 publishers" in accel.message
    assert "gid 01.0f.aa" in accel.message and "gid 01.0f.bb" in accel.message
    assert accel.values["publishers"] == 2
    assert statuses["input mic"].level == OK and statuses["input mic"].values["publishers"] == 1


def test_an_input_with_everything_dropped_warns_on_the_synchroniser():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", INPUTS, now_ns=0)
    sync = {**SYNC, "inputs_all_dropped": "thermal for 6.0 s"}
    status = _by_name(reporter.statuses(_stats(), sync, {}, 1 * S))["synchroniser"]
    assert status.level == WARN
    assert status.message.startswith("everything dropped from thermal for 6.0 s")


def test_an_uncorrected_clock_offset_is_an_error_with_the_input_named():
    reporter = DiagnosticsReporter("pm_monitor", "rig_1", INPUTS, now_ns=0)
    sync = {**SYNC, "clock_level": "error", "clock_reference": "accel",
            "clock_message": "mic: offset about +80 ms, beyond the search range: not corrected",
            "clock_mic_offset_ms": 0.0}
    status = _by_name(reporter.statuses(_stats(), sync, {}, 1 * S))["clock offsets"]
    assert status.level == ERROR and "mic" in status.message
    assert status.values["clock_mic_offset_ms"] == 0.0
    fine = {**SYNC, "clock_level": "ok", "clock_message": "clock offsets: mic +3.0 ms corrected"}
    assert _by_name(reporter.statuses(_stats(), fine, {}, 2 * S))["clock offsets"].level == OK
