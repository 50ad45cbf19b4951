"""The append-only alert log: durable records, replay after a restart, torn last line."""
import json
import logging

from pm_monitor.core.alarms import AlarmConfig, AlarmEvent, AlarmManager, AlarmState, AlertLog
from pm_monitor.core.types import HealthState as S

HOP_NS = 500_000_000
CONFIG = AlarmConfig(update_period_s=1000.0, zone_alarm_enabled=False)


def feed(manager, first, states, fault="outer_race"):
    out = []
    for i, state in enumerate(states, start=first):
        out += manager.update(i * HOP_NS, state, state != S.NORMAL, 0.1, 1.0, None,
                              fault if state != S.NORMAL else "none", None)
    return out


def test_records_are_json_lines_on_disk(tmp_path):
    path = tmp_path / "alerts.jsonl"
    with AlertLog(path) as log:
        log.append({"kind": "x", "n": 1})
        log.append({"kind": "y", "n": 2})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2]
    assert AlertLog.replay(path).records[1]["kind"] == "y"


def test_restart_keeps_acknowledgement_shelving_and_id_sequence(tmp_path):
    path = tmp_path / "alerts.jsonl"
    first = AlarmManager("a", CONFIG, log_path=path)
    acked = feed(first, 0, [S.WARNING] * 2, "outer_race")[0]
    first.acknowledge(acked.alert_id, "alice", "checked")
    shelved = feed(first, 2, [S.WARNING] * 2, "ball")
    ball_id = next(u.alert_id for u in shelved if u.fault_type == "ball")
    first.shelve(ball_id, 3600.0, "known issue", "bob")
    first.close()  # (a crash leaves the same file: every record was fsynced)

    second = AlarmManager("a", CONFIG, log_path=path)
    alarms = {a.alert_id: a for a in second.active_alarms()}
    assert alarms[acked.alert_id].lifecycle == AlarmState.ACTIVE_ACKED
    assert alarms[acked.alert_id].acked_by == "alice"
    assert alarms[ball_id].lifecycle == AlarmState.SHELVED
    # the restarted node sees the same fault: no new alarm, no un-acknowledgement
    again = feed(second, 0, [S.WARNING] * 4, "outer_race")
    assert [u.event for u in again if u.event != AlarmEvent.UPDATED] == []
    # a new fault gets a fresh id, never one used before the restart
    new = feed(second, 10, [S.FAILURE], "inner_race")[0]
    old_numbers = {int(i.split("-")[1]) for i in (acked.alert_id, ball_id)}
    assert int(new.alert_id.split("-")[1]) > max(old_numbers)
    assert second.stats.log_records_replayed > 0


def test_torn_last_line_is_skipped_with_a_warning_and_appends_continue(tmp_path, caplog):
    path = tmp_path / "alerts.jsonl"
    manager = AlarmManager("a", CONFIG, log_path=path)
    raised = feed(manager, 0, [S.WARNING] * 2)[0]
    manager.acknowledge(raised.alert_id, "alice")
    manager.close()
    with path.open("ab") as f:  # a crash in the middle of the next record
        f.write(b'{"kind":"update","alarm":{"asset_id":"a","fault_t')
    with caplog.at_level(logging.WARNING):
        restarted = AlarmManager("a", CONFIG, log_path=path)
    assert "torn last line" in caplog.text
    assert restarted.stats.log_lines_skipped == 1
    assert restarted.active_alarms()[0].lifecycle == AlarmState.ACTIVE_ACKED
    feed(restarted, 5, [S.FAILURE])  # escalation: written on a fresh line
    restarted.close()
    replay = AlertLog.replay(path)
    assert len(replay.skipped_lines) == 1 and not replay.torn_tail
    assert replay.records[-1]["update"]["event"] == "ESCALATED"


def test_garbage_in_the_middle_is_skipped(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"kind":"x"}\nnot json\n[1,2]\n{"kind":"y"}\n')
    replay = AlertLog.replay(path)
    assert [r["kind"] for r in replay.records] == ["x", "y"]
    assert replay.skipped_lines == [2, 3]
    manager = AlarmManager("a", CONFIG, log_path=path)  # records without snapshots: ignored
    assert manager.active_alarms() == []


def test_suppressed_alarms_are_logged(tmp_path):
    path = tmp_path / "alerts.jsonl"
    config = AlarmConfig(flood_node_max_alarms=1, on_delay_windows_warning=1,
                         zone_alarm_enabled=False)
    manager = AlarmManager("a", config, log_path=path)
    for asset in ("p1", "p2"):
        manager.update(0, S.WARNING, True, 0.0, 1.0, None, "ball", None, asset)
    kinds = [r["update"]["event"] for r in AlertLog.replay(path).records if "update" in r]
    assert kinds == ["RAISED", "SUPPRESSED"]
    restarted = AlarmManager("a", config, log_path=path)
    assert [a.suppressed for a in restarted.active_alarms()] == [False, True]
    assert restarted.stats.suppressed_total == 1


def test_periodic_updates_write_short_records_and_keep_the_sequence(tmp_path):
    path = tmp_path / "alerts.jsonl"
    config = AlarmConfig(update_period_s=1.0, zone_alarm_enabled=False)
    manager = AlarmManager("a", config, log_path=path)
    updates = feed(manager, 0, [S.WARNING] * 12)
    assert [u.event for u in updates].count(AlarmEvent.UPDATED) == 5
    manager.close()
    records = AlertLog.replay(path).records
    assert [r["kind"] for r in records].count("sequence") == 5
    assert len(records[-1]["alert_id"]) > 0 and "alarm" not in records[-1]
    restarted = AlarmManager("a", config, log_path=path)
    assert restarted.active_alarms()[0].sequence == updates[-1].sequence
    nxt = feed(restarted, 30, [S.WARNING])  # next periodic update continues the sequence
    assert nxt[0].sequence == updates[-1].sequence + 1


def test_records_survive_a_process_killed_without_closing(tmp_path):
    """The writer dies with os._exit (no close, no flush, no atexit): what append() returned
    for is on disk."""
    import subprocess
    import sys

    path = tmp_path / "alerts.jsonl"
    script = (
        "import os\n"
        "from pm_monitor.core.alarms import AlarmConfig, AlarmManager\n"
        "from pm_monitor.core.types import HealthState as S\n"
        f"m = AlarmManager('a', AlarmConfig(zone_alarm_enabled=False), log_path={str(path)!r})\n"
        "u = [x for i in range(2) for x in m.update(i, S.WARNING, True, 0.0, 1.0, None, "
        "'ball', None)]\n"
        "m.acknowledge(u[0].alert_id, 'alice', 'seen')\n"
        "os._exit(3)\n")
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert done.returncode == 3
    alarms = AlarmManager("a", CONFIG, log_path=path).active_alarms()
    assert [(a.fault_type, a.lifecycle, a.acked_by) for a in alarms] == [
        ("ball", AlarmState.ACTIVE_ACKED, "alice")]
