"""Replay of the real data sets: the samples that come out are exactly the files' samples,
stamps follow the recordings' own time (skips where the shared data is not present)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile

from pm_monitor.core.imaging.codec import to_celsius
from pm_monitor.datasets import DataNotFoundError, cwru, data_root, femto, thermal_motor
from pm_monitor.replay import ReplayConfig, Selection, SourceOptions, replay_messages
from pm_monitor.replay.datasets import (
    build_source,
    femto_source,
    parse_names,
    parse_records,
)
from pm_monitor.replay.sources import sample_time_ns

START_NS = 1_800_000_000 * 10**9


@pytest.fixture(autouse=True)
def data_present():
    try:
        data_root()
    except DataNotFoundError as err:
        pytest.skip(str(err))


def play(dataset: str, selection: Selection | None = None, options: SourceOptions | None = None,
         **config):
    source = build_source(dataset, selection or Selection(), options or SourceOptions())
    return list(replay_messages([source], ReplayConfig(START_NS, **config)))


def concatenated(msgs) -> np.ndarray:
    return np.concatenate([m.payload.samples for m in msgs])


@pytest.fixture(scope="module")
def bearing_3_3():
    return femto.load_bearing("Bearing3_3")


def test_femto_bearing_replays_exactly_acc_times_scale_at_the_true_snapshot_times(bearing_3_3):
    msgs = list(replay_messages([femto_source(bearing_3_3)], ReplayConfig(START_NS)))
    with np.load(data_root() / "femto" / "Bearing3_3.npz") as z:
        expected = (z["acc"] * float(z["scale"])).astype(np.float32)
        t_s = z["t_s"]
    np.testing.assert_array_equal(concatenated(msgs), expected.reshape(-1, 2))
    first = msgs[0].payload
    assert (first.channel_names, first.unit, first.sample_rate) == (
        ("horizontal", "vertical"), "g", 25600.0)
    per_snapshot = {}
    for m in msgs:
        per_snapshot.setdefault(m.record_id, m)  # first chunk of each snapshot
    heads = list(per_snapshot.values())
    assert len(heads) == bearing_3_3.n_snapshots
    for head, t in zip(heads, t_s, strict=True):
        # the index sits at the true time; the stamp is the index's time (within half a sample)
        assert head.payload.first_sample_index == round(t * 25600)
        assert abs(head.stamp_ns - START_NS - t * 1e9) <= 0.5e9 / 25600
    for m in msgs:
        assert m.stamp_ns == START_NS + sample_time_ns(m.payload.first_sample_index, 25600.0)
    # 0.1 s of samples, then silence until the next snapshot 10 s later: an index gap
    assert heads[1].payload.first_sample_index - heads[0].payload.first_sample_index == 256_000


def test_femto_compressed_gaps_play_snapshots_back_to_back(bearing_3_3):
    source = femto_source(bearing_3_3, compress_gaps=True)
    msgs = list(replay_messages([source], ReplayConfig(START_NS, chunk_s=0.05, duration_s=1.0)))
    indices = [m.payload.first_sample_index for m in msgs]
    assert indices == list(range(0, 25600, 1280))  # contiguous: 10 snapshots in 1 s
    np.testing.assert_array_equal(concatenated(msgs),
                                  bearing_3_3.acc_g[:10].reshape(-1, 2))
    assert msgs[2].record_id == "femto/Bearing3_3/snapshot_2"  # the true snapshot is kept


def test_cwru_records_replay_exactly_in_order_with_a_gap_between_them():
    msgs = play("cwru", Selection(records=(97, 105)), SourceOptions(gap_s=0.5))
    with np.load(cwru.archive_path()) as z:
        normal, ir = z["DE12k_97"], z["DE_105"]
    np.testing.assert_array_equal(concatenated(msgs)[:, 0],
                                  np.concatenate([normal, ir]).astype(np.float32))
    assert {m.payload.sample_rate for m in msgs} == {12000.0}
    first_ir = next(m for m in msgs if m.record_id == "cwru/105")
    assert first_ir.payload.first_sample_index == len(normal) + 6000  # 0.5 s gap at 12 kHz
    assert first_ir.stamp_ns == START_NS + sample_time_ns(len(normal) + 6000, 12000.0)


def test_cwru_in_si_units_is_the_record_times_standard_gravity():
    msgs = play("cwru", Selection(records=(130,)),
                SourceOptions(cwru_channels=("DE", "FE", "BA"), accel_unit="m/s^2"),
                duration_s=0.5)
    with np.load(cwru.archive_path()) as z:
        expected = np.stack([z[f"{c}_130"][:6000] for c in ("DE", "FE", "BA")], axis=1)
    assert msgs[0].payload.unit == "m/s^2" and msgs[0].payload.channel_names == ("DE", "FE", "BA")
    np.testing.assert_array_equal(concatenated(msgs), (expected * femto.G).astype(np.float32))
    with pytest.raises(ValueError, match="accel_unit"):
        SourceOptions(accel_unit="mg")


def test_cwru_channels_other_than_de_must_exist_for_every_record():
    with pytest.raises(ValueError, match="FE"):
        build_source("cwru", Selection(records=(105, 98)), SourceOptions(cwru_channels=("DE",
                                                                                        "FE")))


def test_machine_sound_clip_replays_the_exact_pcm_samples():
    msgs = play("machine_sound", Selection(machine="valve/id_00", label="anomaly"))
    pcm, _ = soundfile.read(data_root() / "machine_sound" / "valve/id_00/anomaly/00000000.flac",
                            dtype="int16")
    np.testing.assert_array_equal(concatenated(msgs)[:, 0], pcm.astype(np.float32) / 32768)
    assert len(msgs[0].payload.samples) == 320 and msgs[0].payload.unit == "FS"
    assert msgs[-1].stamp_ns - START_NS == 10 * 10**9 - 20_000_000


def test_thermal_mono16_maps_the_palette_index_onto_the_assumed_span():
    options = SourceOptions(frame_period_s=0.5, thermal_span_c=(20.0, 80.0))
    msgs = play("thermal_motor", Selection(thermal_class="stator_ACB_10"), options)
    frames = [f for f in thermal_motor.list_frames() if f.class_name == "stator_ACB_10"]
    assert len(msgs) == len(frames) == 31 and msgs[0].payload.encoding == "mono16"
    # stamps follow the frame numbers: 099 .. 104, then 106 (frame 105 is missing)
    offsets = [(m.stamp_ns - START_NS) / 1e9 for m in msgs]
    assert offsets[:7] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.5]
    index = thermal_motor.load_palette_index(frames[0])
    celsius = to_celsius(msgs[0].payload.pixels, "mono16")
    np.testing.assert_allclose(celsius, 20.0 + index * (60.0 / 241), atol=0.006)


def test_thermal_mono8_is_the_palette_index_and_classes_follow_each_other():
    msgs = play("thermal_motor", options=SourceOptions(thermal_encoding="mono8"),
                duration_s=40.0)
    frames = thermal_motor.list_frames()
    np.testing.assert_array_equal(msgs[0].payload.pixels,
                                  thermal_motor.load_palette_index(frames[0]))
    classes = list(dict.fromkeys(m.record_id.split("/")[1] for m in msgs))
    assert classes == [frames[0].class_name, frames[40].class_name]  # 38 frames, 1 s gap, next


def test_neu_images_replay_as_mono8_one_per_period():
    msgs = play("neu_surface", Selection(neu_class="scratches"),
                SourceOptions(frame_period_s=0.25), duration_s=1.0)
    assert [m.stamp_ns - START_NS for m in msgs] == [0, 250_000_000, 500_000_000, 750_000_000]
    assert msgs[0].payload.encoding == "mono8" and msgs[0].payload.pixels.shape == (200, 200)
    assert msgs[0].record_id == "neu_surface/scratches/scratches_1.png"


@pytest.mark.parametrize("dataset, selection, match", [
    ("kitti", Selection(), "unknown dataset"),
    ("femto", Selection(bearing="Bearing9_9"), "Bearing1_1"),
    ("cwru", Selection(records=(99,)), "99 is missing"),
    ("thermal_motor", Selection(thermal_class="hot"), "fan_failure"),
    ("neu_surface", Selection(neu_class="rust"), "scratches"),
    ("machine_sound", Selection(machine="drill"), "fan/id_00"),
])
def test_unknown_selections_name_what_exists(dataset, selection, match):
    with pytest.raises((ValueError, DataNotFoundError), match=match):
        build_source(dataset, selection)


def test_parameter_parsing():
    assert parse_records(105) == (105,)
    assert parse_records([97, 105]) == parse_records("97, 105") == (97, 105)
    assert parse_names("cwru,thermal_motor") == ("cwru", "thermal_motor")
    with pytest.raises(ValueError, match="record"):
        parse_records("abc")
