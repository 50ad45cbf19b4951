"""The physics model set through the one loader and the one generic cascade."""
import numpy as np
import pytest

from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import HealthState

RATE = 20000.0


def asset_file(folder):
    """A single-axis pump with a CWRU-like drive-end bearing, 2.5 s of commissioning."""
    path = folder / "pump_7.yaml"
    path.write_text(
        "asset:\n  id: pump_7\n  unit: g\n  shaft_speed: {source: fixed, nominal_rpm: 1758.0}\n"
        "  commissioning: {duration_s: 2.5}\n  bearings:\n    drive_end:\n"
        "      geometry: {n_balls: 9, ball_diameter_mm: 7.94, pitch_diameter_mm: 39.04}\n"
        "  axes: {DE: drive_end}\n")
    return path


def _window(x: np.ndarray, t_end_s: float) -> AnalysisWindow:
    sw = StreamWindow(x[:, None].astype(np.float32), RATE, ("DE",),
                      int((t_end_s - x.size / RATE) * 1e9), np.ones(x.size, bool))
    return AnalysisWindow(int(t_end_s * 1e9), x.size / RATE, {"accel": sw})


def test_single_axis_any_rate_commissions_then_names_the_fault(tmp_path, bearing_signal):
    models = load_model_set("models/physics", asset_file=str(asset_file(tmp_path)),
                            reference_dir=str(tmp_path / "refs"))
    assert models.accel_channels == ("DE",) and models.sample_rates == {}
    assert any("asset pump_7" in line for line in models.describe())
    shaft = 29.3
    results = [models.process(_window(bearing_signal(RATE, 1.0, None, shaft, seed=k),
                                      1.0 + 0.5 * k)) for k in range(8)]
    assert not results[0].decided and results[0].commissioning == (1, 4)
    assert "commissioning baseline 1/4" in results[0].summary
    assert results[-1].decided and results[-1].state == HealthState.NORMAL
    bpfo = 3.5848 * shaft
    for k in range(4):
        r = models.process(_window(bearing_signal(RATE, 1.0, bpfo, shaft, impact_g=2.0,
                                                  seed=30 + k), 6.0 + 0.5 * k))
    assert r.state >= HealthState.WARNING and r.fault_type == "outer_race"
    assert "outer race fault on drive_end" in r.summary
    explanation = models.explain(r)
    assert explanation.methods == ("reference_robust_z",)
    assert abs(sum(explanation.feature_importance.values()) - 1.0) < 1e-6
    assert set(explanation.sensor_importance) == {"accel_DE"}


def test_no_accelerometer_no_decision(tmp_path):
    models = load_model_set("models/physics", asset_file=str(asset_file(tmp_path)))
    r = models.process(AnalysisWindow(10**9, 1.0, {}))
    assert not r.decided and "needs accel" in r.summary


def test_a_missing_or_invalid_asset_file_names_the_problem(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model_set("models/physics", asset_file=str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("asset: {id: p, bearings: {}}\n")
    with pytest.raises(ModelLoadError, match="bearings"):
        load_model_set("models/physics", asset_file=str(bad))


def test_microphone_and_analysis_window_come_from_the_asset_file(tmp_path, bearing_signal):
    path = asset_file(tmp_path)
    path.write_text(path.read_text() + "  microphone: {enabled: true}\n"
                    "  analysis: {window_s: 0.5, hop_s: 0.25}\n")
    models = load_model_set("models/physics", asset_file=str(path),
                            reference_dir=str(tmp_path / "refs"))
    assert set(models.inputs) == {"accel", "mic"}
    assert models.inputs["mic"].required_by == ()  # optional: never needed for a decision
    assert (models.window_s, models.hop_s) == (0.5, 0.25)
    results = [models.process(_window(bearing_signal(RATE, 0.5, None, 29.3, seed=k),
                                      0.5 + 0.25 * k)) for k in range(12)]
    assert results[-1].decided  # no microphone came: the vibration decides alone
    assert results[-1].modalities_missing == ("mic",)  # the asset has one: an honest note
    window = _window(bearing_signal(RATE, 0.5, None, 29.3, seed=40), 4.0)
    mic = StreamWindow(np.zeros((2000, 1), np.float32), 4000.0, ("mic",),
                       window.t_end_ns - 500_000_000, np.ones(2000, bool))
    refused = models.process(AnalysisWindow(window.t_end_ns, 0.5, {**window.streams,
                                                                    "mic": mic}))
    assert refused.decided and "mic" in refused.modalities_missing
    assert any(n.startswith("mic refused") and "8000 Hz" in n for n in refused.notes)


def test_without_a_microphone_only_the_accelerometer_can_be_missing(tmp_path, bearing_signal):
    models = load_model_set("models/physics", asset_file=str(asset_file(tmp_path)))
    assert set(models.inputs) == {"accel"}
    r = models.process(_window(bearing_signal(RATE, 1.0, None, 29.3), 1.0))
    assert r.modalities_missing == () and "missing" not in r.summary


def test_a_microphone_only_asset_has_the_microphone_as_its_one_input(tmp_path):
    from pm_monitor.core.alarms import AlarmManager
    from pm_monitor.core.pipeline import InputRejectedError, offline_pipeline

    models = load_model_set("models/physics", asset_file="config/assets/mimii_fan.yaml",
                            reference_dir=str(tmp_path / "refs"))
    assert set(models.inputs) == {"mic"}
    assert models.inputs["mic"].required_by == ("asset_physics",)
    assert models.accel_channels == () and (models.window_s, models.hop_s) == (1.0, 0.5)
    assert any("microphone only" in line for line in models.describe())
    # the node's pipeline takes no accelerometer for it, and says why
    pipeline = offline_pipeline(models, AlarmManager("mimii_fan"))
    assert "accel" not in pipeline.assembler.stream_buffers
    with pytest.raises(InputRejectedError, match="not an input of the loaded model set"):
        pipeline.on_chunk("accel", 10**18, RATE, ["DE"], 0, np.zeros(2000, np.float32))
    rng = np.random.default_rng(0)
    outputs = []
    for i in range(30):  # 3 s of sound in 0.1 s chunks: windows while commissioning
        outputs += pipeline.on_chunk("mic", 10**18 + i * 10**8, 16000.0, ["mic"], i * 1600,
                                     (0.1 * rng.standard_normal(1600)).astype(np.float32))
    assert outputs and all(not o.result.decided and o.result.commissioning for o in outputs)
    assert all(o.velocity_mm_s is None and o.decisions == [] for o in outputs)
