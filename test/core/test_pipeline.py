"""The monitor's data path without ROS: rig data -> windows -> cascade -> alarm updates."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pm_monitor.core.alarms import AlarmEvent, AlarmManager
from pm_monitor.core.imaging.codec import CompressedImageData, RawImage, encode, from_celsius
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.pipeline import (
    InputRejectedError,
    MonitorPipeline,
    assembler_diagnostics,
    monitor_assembler,
)
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator
from pm_monitor.sim.streaming import RigClock

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"accel": ["x", "y", "z"], "mic": ["mic"]}


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(ROOT / "models" / "rig_baseline")


def _pipeline(bundle) -> MonitorPipeline:
    return MonitorPipeline(monitor_assembler(bundle.window_s, bundle.hop_s, 0.1, 2.0),
                           rig_cascade(bundle), AlarmManager("rig_1"))


def _raw_images(kind: str, pixels: np.ndarray) -> RawImage:
    return encode(pixels, "mono16" if kind == "thermal" else "rgb8")


def _png_images(kind: str, pixels: np.ndarray) -> CompressedImageData:
    """What image_transport's compressed plugin with format png publishes for the rig's
    mono16 thermal and rgb8 camera frames."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    fmt = "mono16; png compressed " if kind == "thermal" else "rgb8; png compressed bgr8"
    return CompressedImageData(fmt, buf.getvalue())


def _feed(pipeline, schedule, until_s, skip=(), lose_every: dict[str, int] | None = None,
          images=_raw_images):
    """lose_every: e.g. {"mic": 4}: every 4th chunk of the microphone lost in transport;
    images(kind, pixels): the Image or CompressedImage fields a frame arrives as."""
    clock = RigClock(RigSimulator(RigConfig(), schedule, seed=5), 10**18, chunk_s=0.05,
                     camera_hz=5)
    outputs = []
    sent = dict.fromkeys(("accel", "mic"), 0)
    for item in clock.advance_to(until_s):
        if item.kind in sent:
            sent[item.kind] += 1
            if sent[item.kind] % (lose_every or {}).get(item.kind, 10**9) == 0:
                continue
        if item.kind in ("accel", "mic") and item.kind not in skip:
            outputs += pipeline.on_chunk(item.kind, item.stamp_ns, item.sample_rate,
                                         NAMES[item.kind], item.first_sample_index,
                                         item.data.reshape(-1))
        elif item.kind == "thermal" and item.kind not in skip:
            outputs += pipeline.on_image("thermal", item.stamp_ns, "t",
                                         images("thermal", from_celsius(item.data)))
        elif item.kind == "camera" and item.kind not in skip:
            outputs += pipeline.on_image("camera", item.stamp_ns, "c",
                                         images("camera", np.asarray(item.data)))
    return outputs


def test_fault_is_raised_once_and_escalated(bundle):
    schedule = FaultSchedule.from_yaml(ROOT / "test" / "fixtures" / "fast_outer_race.yaml")
    pipeline = _pipeline(bundle)
    outputs = _feed(pipeline, schedule, 30.0)
    assert len(outputs) >= 55                      # every 0.5 s once the first window is full
    updates = [u for o in outputs for u in o.decisions]
    assert [u.event for u in updates].count(AlarmEvent.RAISED) == 1
    assert AlarmEvent.ESCALATED in [u.event for u in updates]
    assert len({u.alert_id for u in updates}) == 1  # one developing fault, one alarm
    # the ISO velocity of every window is computed from the accelerometer and reported
    assert all(o.velocity_mm_s is not None and o.velocity_mm_s > 0 for o in outputs)
    assert pipeline.stats.inference.stage2_runs > 0
    assert assembler_diagnostics(pipeline.assembler)["accel_gaps"] == 0


def test_missing_modality_keeps_the_monitor_running_and_is_named(bundle):
    pipeline = _pipeline(bundle)
    outputs = _feed(pipeline, FaultSchedule(), 8.0, skip=("thermal",))
    assert outputs
    assert all("thermal" in o.result.modalities_missing for o in outputs[-5:])
    assert all("thermal" not in o.result.modalities_used for o in outputs[-5:])


def test_a_dead_thermal_camera_and_a_lossy_microphone_still_detect_the_fault(bundle):
    """Thermal never arrives and every 4th microphone chunk is lost (no gap-free 95 % of any
    window): each window is decided on the accelerometer alone, the shipped bundle's mode
    without mic and thermal, which says so; the fault is detected, no alarm before its onset,
    and nothing on a healthy rig."""
    schedule = FaultSchedule.from_yaml(ROOT / "test" / "fixtures" / "fast_outer_race.yaml")
    pipeline = _pipeline(bundle)
    outputs = _feed(pipeline, schedule, 14.0, skip=("thermal",), lose_every={"mic": 4})
    decided = [o.result for o in outputs if o.result.decided]
    assert decided and all(r.decided_without == ("mic", "thermal") for r in decided)
    assert all(r.decision_basis[0] == "rig_stage1 without mic, thermal" for r in decided)
    assert any(note.startswith("mic refused: too little mic data") for note in decided[-1].notes)
    raised = [u for o in outputs for u in o.decisions if u.event == AlarmEvent.RAISED]
    assert raised and all(u.t_ns >= 10**18 + 4 * 10**9 for u in raised)  # after the onset
    healthy = _feed(_pipeline(bundle), FaultSchedule(), 14.0, skip=("thermal",),
                    lose_every={"mic": 4})
    assert [u for o in healthy for u in o.decisions] == []
    assert all(o.result.decided for o in healthy)


def test_png_compressed_frames_give_exactly_the_windows_of_raw_frames(bundle):
    """Lossless compressed transport: the same frames, so the same decisions, scores and
    Stage 2 maps as raw Images."""
    schedule = FaultSchedule.from_yaml(ROOT / "test" / "fixtures" / "fast_outer_race.yaml")
    raw = _feed(_pipeline(bundle), schedule, 9.0)
    compressed = _feed(_pipeline(bundle), schedule, 9.0, images=_png_images)
    assert raw and len(compressed) == len(raw)
    assert any(o.result.localizations for o in raw)  # Stage 2 maps are compared too
    for a, b in zip(raw, compressed, strict=True):
        for kind in ("thermal", "camera"):
            np.testing.assert_array_equal(a.window.frames[kind].image,
                                          b.window.frames[kind].image)
        assert (a.result.state, a.result.anomaly_score) == (b.result.state,
                                                            b.result.anomaly_score)
        assert len(a.result.localizations) == len(b.result.localizations)
        for la, lb in zip(a.result.localizations, b.result.localizations, strict=True):
            np.testing.assert_array_equal(la.heatmap, lb.heatmap)


def test_a_jpeg_thermal_frame_is_refused_and_counted_with_what_to_do(bundle):
    pipeline = _pipeline(bundle)
    buf = io.BytesIO()
    Image.fromarray(np.full((120, 160), 128, np.uint8)).save(buf, format="JPEG")
    jpeg = CompressedImageData("mono8; jpeg compressed ", buf.getvalue())
    with pytest.raises(InputRejectedError, match=r"thermal: .* no temperature scale"):
        pipeline.on_image("thermal", 10**18, "t", jpeg)
    assert pipeline.stats.inputs["thermal"].rejected == 1
    assert "png" in pipeline.stats.inputs["thermal"].last_error
    camera = pipeline.on_image("camera", 10**18, "c", jpeg)  # the camera takes JPEG
    assert camera == [] and pipeline.stats.inputs["camera"].rejected == 0


def test_bad_inputs_raise_a_counted_reason(bundle):
    pipeline = _pipeline(bundle)
    with pytest.raises(InputRejectedError, match="zero"):
        pipeline.on_chunk("accel", 0, 25600.0, NAMES["accel"], 0, np.zeros(3, np.float32))
    with pytest.raises(InputRejectedError, match="thermal images must be"):
        pipeline.on_image("thermal", 10**18, "t", encode(np.zeros((4, 4, 3), np.uint8), "rgb8"))
    with pytest.raises(InputRejectedError, match="NaN"):
        nan = np.full((4, 4), np.nan, np.float32)
        pipeline.on_image("thermal", 10**18, "t", encode(nan, "32FC1"))
    with pytest.raises(InputRejectedError, match="data length"):
        pipeline.on_image("camera", 10**18, "c", RawImage("rgb8", 2, 2, 6, False, b"\0"))
    assert pipeline.stats.inputs["thermal"].rejected == 2
    assert pipeline.stats.inputs["accel"].rejected == 1
