"""The microphone ring of the real-data cascade: contiguous samples across 0.1 s windows, a
restart at gaps, a clear refusal of another sample rate, the shipped MIMII fan score."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from realdata_windows import START_NS, mic_window, need_data, networks, profile

from pm_monitor.core.realdata.sound import AcousticScorer, SampleRing
from pm_monitor.core.types import NS_PER_S
from pm_monitor.datasets import machine_sound

REPO = Path(__file__).resolve().parents[3]
RATE = 16000.0


def stamp(index: int) -> int:
    return START_NS + round(index * NS_PER_S / RATE)


def test_ring_keeps_the_newest_samples_across_windows_and_overlaps() -> None:
    ring = SampleRing(5000, RATE)
    signal = np.arange(8000, dtype=np.float32)
    for first in range(0, 8000, 1600):
        ring.add(mic_window(signal[first:first + 1600], stamp(first)))
    np.testing.assert_array_equal(ring.samples(), signal[-5000:])
    # an overlapping window (hop < window) adds only the samples not seen yet
    ring.add(mic_window(np.arange(7000, 9600, dtype=np.float32), stamp(7000)))
    np.testing.assert_array_equal(ring.samples(), np.arange(4600, 9600, dtype=np.float32))
    assert ring.full and ring.restarts == 0


def test_ring_restarts_after_a_gap_or_invalid_samples() -> None:
    ring = SampleRing(3000, RATE)
    ring.add(mic_window(np.ones(1600), stamp(0)))
    ring.add(mic_window(np.ones(1600), stamp(1600 + 800)))  # 50 ms of stream missing
    assert ring.count == 1600 and ring.restarts == 1
    w = mic_window(np.ones(1600), stamp(4000))
    w.valid[:100] = False  # the assembler's zero-filled gap
    ring.add(w)
    assert ring.count == 1500 and ring.restarts == 2


def test_wrong_mic_sample_rate_is_refused_clearly() -> None:
    scorer = AcousticScorer(profile().acoustic, networks())
    with pytest.raises(ValueError, match="mic sample rate 44100 Hz, the acoustic model was "
                                         "trained at 16000 Hz"):
        scorer.add(mic_window(np.zeros(4410), START_NS, rate=44100.0))


def test_ring_length_is_one_model_patch() -> None:
    acoustic = profile().acoustic
    assert acoustic.clip_samples == 33792  # 31 hops of 1024 + one 2048-sample frame
    assert acoustic.threshold is None  # none shipped: the score is reported, not judged


def test_score_of_the_ring_equals_the_shipped_reference_score() -> None:
    need_data()
    meta = json.loads((REPO / "models/machine_sound/fan_id_00.json").read_text())
    scorer = AcousticScorer(profile().acoustic, networks())
    clips = {c.file: c for c in machine_sound.list_clips()}
    for ref in meta["reference_scores"]:
        scorer.reset()
        samples = machine_sound.load_clip(clips[ref["file"]])[: ref["first_samples"]]
        # 0.1 s windows ending at the reference stretch's end (the first one shorter)
        edges = [0, *range(len(samples) % 1600, len(samples) + 1, 1600)]
        for lo, hi in itertools.pairwise(edges):
            assert scorer.score() is None  # not a whole patch yet
            scorer.add(mic_window(samples[lo:hi], stamp(lo)))
        assert scorer.score() == pytest.approx(ref["score"], rel=1e-4)
