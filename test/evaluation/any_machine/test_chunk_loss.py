"""The chunk-loss evaluation's counting: windows count after the unit's last commissioning
window, refused ones as windows but not as decided."""
from pm_monitor.evaluation.any_machine.chunk_loss import _tally, table
from pm_monitor.evaluation.any_machine.live_path import LiveWindow


def _w(decided: bool, state: int = 0, commissioning: bool = False, raised: bool = False,
       anomalous: bool = False) -> LiveWindow:
    return LiveWindow(0, 0, decided, state if decided else -1, anomalous, "none", raised,
                      commissioning=commissioning)


def test_windows_are_counted_after_the_last_commissioning_window():
    windows = [_w(False, commissioning=True), _w(False),  # refused while commissioning
               _w(False, commissioning=True),
               _w(True), _w(False), _w(True, state=1, anomalous=True, raised=True)]
    assert _tally(windows) == {"windows": 3, "decided": 2, "not_normal": 1, "anomalous": 1,
                               "alerts": 1}


def test_refused_windows_after_the_last_learned_one_count_undecided():
    # whether the unit finished commissioning is counted beside (units / commissioned)
    counts = _tally([_w(False, commissioning=True), _w(False), _w(False)])
    assert counts["windows"] == 2 and counts["decided"] == 0


def test_table_rows_per_loss_and_code_version():
    row = {"seeds": 2, "auroc": [0.9],
           "healthy": {"windows": 10, "decided": 5, "not_normal": 0, "anomalous": 1,
                       "alerts": 0},
           "faulty": {"windows": 4, "decided": 4, "not_normal": 2, "anomalous": 4,
                      "alerts": 1, "first_not_normal_s": [1.0, None, 3.0]}}
    lines = table({"before": {"cwru": {"0.1": row}}}, "cwru")
    assert lines[4] == ("| 10% (x2) | before | 5 / 10 (50.0) | 0 / 1 | 0 | 4 / 4 (100.0) | "
                        "50.0 / 100.0 | 2.00 (2/3) | 0.900 |")
