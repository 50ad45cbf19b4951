import numpy as np

from pm_monitor.training.sequences import build_sequences, sequence_indices


def test_left_padding_with_the_first_window_like_the_cascade():
    np.testing.assert_array_equal(
        sequence_indices(4, 3), [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]
    )


def test_sequences_never_cross_run_boundaries():
    features = np.arange(5, dtype=np.float32)[:, None]  # run A: 0,1,2  run B: 3,4
    sequences = build_sequences(features, [3, 2], length=2)
    np.testing.assert_array_equal(sequences[:, :, 0], [[0, 0], [0, 1], [1, 2], [3, 3], [3, 4]])
