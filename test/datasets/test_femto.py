"""FEMTO loader on the real files (skips where the shared data is not present)."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.datasets import DataNotFoundError, femto


@pytest.fixture(scope="module")
def bearing_3_3():
    try:
        return femto.load_bearing("Bearing3_3")
    except DataNotFoundError as err:
        pytest.skip(str(err))


def test_metadata_matches_readme(bearing_3_3):
    b = bearing_3_3
    assert (b.condition, b.rpm, b.load_n, b.split) == (3, 1500, 5000, "test_full")
    assert b.n_snapshots == 434 and b.fs == femto.SAMPLE_RATE_HZ
    assert b.acc_g.shape == (434, femto.SNAPSHOT_SAMPLES, 2)


def test_units_are_g_and_time_is_the_10s_grid(bearing_3_3):
    acc = bearing_3_3.acc_g
    assert acc.dtype == np.float32
    assert 0.05 < float(np.sqrt((acc[:10] ** 2).mean())) < 5.0  # healthy bearing: ~0.1-1 g
    assert np.allclose(np.diff(bearing_3_3.t_s), femto.SNAPSHOT_PERIOD_S, atol=0.01)


def test_rul_labels(bearing_3_3):
    rul = bearing_3_3.rul_to_end_s()
    assert rul[-1] == 0.0 and np.all(np.diff(rul) < 0)
    # every test bearing but Bearing1_4 agrees with the official label (README)
    assert np.allclose(bearing_3_3.official_rul_s(), rul, atol=0.05)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="Bearing9_9"):
        femto.load_bearing("Bearing9_9", root=tmp_path)
