import numpy as np
import pytest

from pm_monitor.core.chunk_codec import ChunkDecodeError, decode_chunk, encode_chunk


def test_round_trip_is_frame_major():
    frames = np.arange(12, dtype=np.float32).reshape(4, 3)
    flat = encode_chunk(frames)
    assert flat[:3].tolist() == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(decode_chunk(flat, ["x", "y", "z"], 25600.0), frames)


@pytest.mark.parametrize("samples,names,rate,message", [
    ([1.0, 2.0], ["x", "y", "z"], 100.0, "not a multiple of 3"),
    ([1.0, float("nan"), 3.0], ["m"], 100.0, "1 of 3 samples are NaN or Inf"),
    ([1.0, float("inf")], ["m"], 100.0, "NaN or Inf"),
    ([1.0], ["m"], 0.0, "sample_rate"),
    ([1.0], ["m"], -5.0, "sample_rate"),
    ([1.0], ["m"], float("nan"), "sample_rate"),
    ([1.0], [], 100.0, "no channel_names"),
    ([], ["m"], 100.0, "no samples"),
])
def test_bad_chunks_are_refused_with_a_reason(samples, names, rate, message):
    with pytest.raises(ChunkDecodeError, match=message):
        decode_chunk(samples, names, rate)
