"""ClockOffsets: offsets and drift found by envelope cross-correlation, confidence, out of
range, correction applied only when confident (core/sync/clock_offsets.py)."""
from __future__ import annotations

import numpy as np
import pytest

from pm_monitor.core.sync.clock_offsets import (
    CONFIDENT,
    ESTIMATING,
    LOW_CONFIDENCE,
    OUT_OF_RANGE,
    ClockConfig,
    ClockOffsets,
    clock_status,
)

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
RATE = 8000.0
CHUNK = 160  # 20 ms
CONFIG = ClockConfig(band_hz=(1000.0, 3000.0), window_s=10.0, update_period_s=1.0)


def bursts(duration_s: float, seed: int) -> np.ndarray:
    """Bursts of energy at random times and strengths (what both sensors feel), sampled at
    RATE: the amplitude envelope of the machine."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    envelope = np.full(n, 0.2)
    for start in rng.uniform(0, duration_s, int(duration_s * 4)):
        k = int(start * RATE)
        length = int(rng.uniform(0.02, 0.15) * RATE)
        envelope[k:k + length] += rng.uniform(0.5, 3.0)
    return envelope


def feed(clocks: ClockOffsets, duration_s: float, offset_s: float, drift_ppm: float = 0.0,
         shared: bool = True, seed: int = 0) -> None:
    envelope = bursts(duration_s, seed)
    rng = np.random.default_rng(seed + 1)
    other = envelope if shared else bursts(duration_s, seed + 7)
    accel = envelope * rng.standard_normal(len(envelope))
    mic = other * rng.standard_normal(len(envelope))
    for k in range(0, len(envelope) - CHUNK, CHUNK):
        t_s = k / RATE
        stamp = T0 + round(t_s * NS)
        clocks.observe_chunk("accel", stamp, RATE, accel[k:k + CHUNK, None])
        error_s = offset_s + drift_ppm * 1e-6 * t_s
        clocks.observe_chunk("mic", stamp + round(error_s * NS), RATE, mic[k:k + CHUNK, None])


@pytest.mark.parametrize("offset_ms", [-35.0, 0.0, 22.5])
def test_offset_inside_the_range_is_found_within_a_few_ms_and_applied(offset_ms):
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 30.0, offset_ms / 1e3)
    estimate = clocks.estimate("mic")
    assert estimate.status == CONFIDENT and estimate.applied
    assert estimate.offset_s * 1e3 == pytest.approx(offset_ms, abs=2.0)
    stamp = T0 + 5 * NS
    # a mic stamp carries the clock error: corrected, it lands on the reference clock
    corrected = clocks.correct("mic", stamp + round(offset_ms * 1e6))
    assert abs(corrected - stamp) < 2_000_000
    assert clocks.correct("accel", stamp) == stamp  # the reference is never moved


def test_drift_is_estimated_in_ppm():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 60.0, -0.02, drift_ppm=200.0)
    estimate = clocks.estimate("mic")
    assert estimate.status == CONFIDENT
    assert estimate.drift_ppm == pytest.approx(200.0, abs=60.0)
    # the model follows the clock error to the newest data, not the window's middle
    assert estimate.offset_s * 1e3 == pytest.approx(-20.0 + 0.2 * 60 - 0.2 * 1.2, abs=2.0)


def test_offset_beyond_the_search_range_is_reported_out_of_range_and_not_applied():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 30.0, 0.075)
    estimate = clocks.estimate("mic")
    assert estimate.status == OUT_OF_RANGE and not estimate.applied
    assert estimate.last_lag_s == pytest.approx(0.075, abs=0.003)
    stamp = T0 + 5 * NS
    assert clocks.correct("mic", stamp) == stamp
    level, message = clock_status(clocks.estimates(), CONFIG.tolerance_s)
    assert level == "error" and "mic" in message and "beyond the search range" in message


def test_sensors_sharing_nothing_give_no_confident_offset_and_no_correction():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 30.0, 0.01, shared=False)
    estimate = clocks.estimate("mic")
    assert estimate.status == LOW_CONFIDENCE and not estimate.applied
    assert abs(estimate.significance) < CONFIG.min_significance
    assert clock_status(clocks.estimates(), CONFIG.tolerance_s)[0] == "ok"


def test_nothing_is_estimated_before_enough_data_overlaps():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 4.0, 0.01)
    assert clocks.estimate("mic").status == ESTIMATING


def test_correction_off_reports_an_offset_beyond_tolerance_as_error():
    config = ClockConfig(band_hz=(1000.0, 3000.0), window_s=10.0, update_period_s=1.0,
                         apply=False, tolerance_s=0.02)
    clocks = ClockOffsets(config, streams=("accel", "mic"))
    feed(clocks, 30.0, 0.04)
    estimate = clocks.estimate("mic")
    assert estimate.status == CONFIDENT and not estimate.applied
    assert clocks.correct("mic", T0) == T0
    level, message = clock_status(clocks.estimates(), config.tolerance_s)
    assert level == "error" and "not corrected" in message


def test_stamp_by_arrival_replaces_the_stamp_for_chosen_inputs_only():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"), stamp_by_arrival=("mic",))
    assert clocks.arrival_stamp("mic", 5, 1_000, duration_ns=200) == 800
    assert clocks.arrival_stamp("accel", 5, 1_000) == 5
    assert clocks.arrival_stamp("mic", 5, None) == 5  # no receive clock yet: keep the stamp


def test_image_input_uses_frame_to_frame_change():
    clocks = ClockOffsets(CONFIG, streams=("accel",), images=("thermal",))
    envelope = bursts(30.0, 3)
    rng = np.random.default_rng(4)
    accel = envelope * rng.standard_normal(len(envelope))
    frame_period = int(RATE / 30)
    base = rng.uniform(20, 30, (32, 32)).astype(np.float32)
    for k in range(0, len(envelope) - CHUNK, CHUNK):
        clocks.observe_chunk("accel", T0 + round(k / RATE * NS), RATE, accel[k:k + CHUNK, None])
        for f in range(k - k % frame_period, k + CHUNK, frame_period):
            if f >= k:
                # brightness flickers with the machine's energy: the change follows it
                level = envelope[max(0, f - 200):f + 1].mean()
                frame = base + level * rng.standard_normal((32, 32)).astype(np.float32)
                clocks.observe_frame("thermal", T0 + round((f / RATE + 0.02) * NS), frame)
    estimate = clocks.estimate("thermal")
    assert estimate.status == CONFIDENT
    assert estimate.offset_s == pytest.approx(0.02 + 0.0125, abs=0.02)


def test_reference_must_be_an_input():
    with pytest.raises(ValueError, match="reference"):
        ClockOffsets(ClockConfig(reference="accel"), streams=("mic",))


def test_time_going_back_starts_the_envelopes_over():
    clocks = ClockOffsets(CONFIG, streams=("accel", "mic"))
    feed(clocks, 20.0, 0.02)
    first = clocks.estimate("mic")
    feed(clocks, 20.0, 0.02)  # the same recording again, stamps back at T0
    again = clocks.estimate("mic")
    assert first.status == again.status == CONFIDENT
    assert again.offset_s == pytest.approx(0.02, abs=0.003)
