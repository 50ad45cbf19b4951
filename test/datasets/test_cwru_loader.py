"""CWRU loader on the real archive (skips where the shared data is not present)."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.datasets import DataNotFoundError, cwru


@pytest.fixture(scope="module")
def records():
    try:
        return {r.record: r for r in cwru.list_records()}
    except DataNotFoundError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def archive(records):
    with np.load(cwru.archive_path()) as z:
        yield z


def test_metadata_matches_readme(records):
    assert len(records) == 39 and 99 not in records
    normal = records[97]
    assert (normal.label, normal.load_hp, normal.native_rate_hz) == ("NORMAL", 0, 48000)
    assert normal.channels == ("DE", "FE")
    assert records[98].channels == ("DE",) and records[100].channels == ("DE",)
    ir = records[105]
    assert (ir.label, ir.label_id, ir.load_hp, ir.native_rate_hz) == ("IR007", 4, 0, 12000)
    assert ir.channels == cwru.CHANNELS and ir.native_samples == 121_265
    assert {r.label for r in records.values()} >= {"B007", "OR021@6"}


def test_fault_record_samples_are_the_archive_values(records, archive):
    signal = cwru.load_record(105, ("DE", "FE", "BA"))
    assert signal.rate_hz == 12000 and not signal.derived
    assert signal.samples.shape == (121_265, 3)
    np.testing.assert_array_equal(signal.samples[:, 0], archive["DE_105"])
    np.testing.assert_array_equal(signal.samples[:, 2], archive["BA_105"])


def test_normal_defaults_to_the_derived_12k_copy_never_mixing_rates(records, archive):
    at_12k = cwru.load_record(97, ("DE", "FE"))
    assert at_12k.derived and at_12k.samples.shape == (60_985, 2)
    np.testing.assert_array_equal(at_12k.samples[:, 1], archive["FE12k_97"])
    original = cwru.load_record(97, rate_hz=48000)
    assert not original.derived and original.samples.shape == (243_938, 1)
    assert abs(original.duration_s - at_12k.duration_s) < 1e-3


def test_unavailable_channels_rates_and_records_are_clear_errors(records):
    with pytest.raises(ValueError, match=r"no channel \['FE'\] at 12000 Hz"):
        cwru.load_record(98, ("DE", "FE"))
    with pytest.raises(ValueError, match="48000 Hz"):
        cwru.load_record(105, rate_hz=48000)
    with pytest.raises(DataNotFoundError, match="99 is missing"):
        cwru.find_record(99)


def test_missing_archive_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"cwru_12k_de\.npz"):
        cwru.list_records(root=tmp_path)
