from dataclasses import dataclass

import numpy as np
import pytest

from pm_monitor.sim.streaming import RigClock


@dataclass
class _Config:
    accel_rate: float = 1000.0
    mic_rate: float = 500.0


class _FakeSim:
    """Records what was generated; samples carry their own index so continuity is visible."""

    config = _Config()

    def accel(self, start, n):
        return np.arange(start, start + n, dtype=np.float32)[:, None].repeat(3, axis=1)

    def mic(self, start, n):
        return np.arange(start, start + n, dtype=np.float32)[:, None]

    def thermal(self, t):
        return np.full((2, 2), t, np.float32)

    def camera(self, t):
        return np.zeros((2, 2, 3), np.uint8)

    def truth(self, t):
        return t


def test_chunks_are_contiguous_and_only_complete_ones_are_emitted():
    clock = RigClock(_FakeSim(), epoch_ns=10**9, chunk_s=0.02, camera_hz=30, thermal_hz=9)
    items = clock.advance_to(0.05) + clock.advance_to(0.1)
    accel = [i for i in items if i.kind == "accel"]
    assert [i.first_sample_index for i in accel] == [0, 20, 40, 60, 80]
    np.testing.assert_array_equal(np.concatenate([i.data[:, 0] for i in accel]), np.arange(100))
    assert accel[1].stamp_ns == 10**9 + 20_000_000          # stamp = first sample's time
    assert all(i.available_s <= 0.1 + 1e-9 for i in items)


def test_frame_rates_and_ordering():
    clock = RigClock(_FakeSim(), epoch_ns=0, camera_hz=30, thermal_hz=9, truth_hz=10)
    items = clock.advance_to(1.0)
    kinds = [i.kind for i in items]
    assert kinds.count("camera") == 31 and kinds.count("thermal") == 10
    assert kinds.count("truth") == 11
    available = [i.available_s for i in items]
    assert available == sorted(available)
    assert clock.advance_to(1.0) == []                     # nothing is emitted twice


def test_invalid_chunk_duration_is_refused():
    with pytest.raises(ValueError, match="chunk_s"):
        RigClock(_FakeSim(), epoch_ns=0, chunk_s=0.0)
