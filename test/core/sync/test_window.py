import numpy as np

from pm_monitor.core.sync.window import StreamWindow

RATE = 1000.0


def _stream(valid: np.ndarray) -> StreamWindow:
    samples = np.where(valid, np.arange(valid.size) + 1.0, 0.0)[:, None].astype(np.float32)
    return StreamWindow(samples, RATE, ("x",), 5_000_000_000, valid)


def test_longest_received_is_the_longest_gap_free_stretch_with_its_own_start_time():
    valid = np.ones(100, bool)
    valid[10:20] = False  # a lost chunk
    valid[60:65] = False  # another one
    stretch = _stream(valid).longest_received()
    assert stretch.valid.all() and stretch.valid.size == 40  # samples 20..59
    assert stretch.samples[0, 0] == 21.0 and stretch.samples[-1, 0] == 60.0
    assert stretch.t_start_ns == 5_000_000_000 + 20_000_000  # 20 samples at 1 kHz later
    assert not np.any(stretch.samples == 0.0)  # none of the zero-filled holes


def test_longest_received_of_a_whole_window_is_itself_and_of_an_empty_one_none():
    whole = _stream(np.ones(50, bool))
    assert whole.longest_received() is whole
    assert _stream(np.zeros(50, bool)).longest_received() is None
