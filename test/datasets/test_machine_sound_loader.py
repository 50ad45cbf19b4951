"""MIMII subset loader on the real FLAC clips (skips where the shared data is not present)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import soundfile

from pm_monitor.datasets import DataNotFoundError, data_root, machine_sound


@pytest.fixture(scope="module")
def clips():
    try:
        return machine_sound.list_clips()
    except DataNotFoundError as err:
        pytest.skip(str(err))


def test_clip_table_matches_readme(clips):
    assert len(clips) == 98
    assert Counter(c.label for c in clips) == {"normal": 44, "anomaly": 54}
    assert all(c.label == "normal" for c in clips if c.split == "train")
    fan_00 = [c.label for c in clips if c.machine == "fan/id_00"]
    assert fan_00 == ["normal"] * 20 + ["anomaly"] * 20  # healthy first, as a replay plays it
    six_db = [c for c in clips if c.snr_db == 6.0]
    assert len(six_db) == 10 and all(c.snr_inferred and c.machine == "pump/id_02"
                                     for c in six_db)


def test_samples_are_exactly_the_pcm_values_in_full_scale(clips):
    clip = next(c for c in clips if c.machine == "valve/id_00")
    x = machine_sound.load_clip(clip)
    pcm, rate = soundfile.read(data_root() / "machine_sound" / clip.file, dtype="int16")
    assert rate == machine_sound.SAMPLE_RATE_HZ
    assert x.dtype == np.float32 and x.shape == (machine_sound.clip_length(clip),) == (160_000,)
    np.testing.assert_array_equal(x, pcm.astype(np.float32) / 32768)
