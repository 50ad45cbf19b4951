from pathlib import Path

import numpy as np
import pytest

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.stages.contract import Abstention, InputRefusedError, Stage1Decision
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import HealthState

RATE = 20000.0


def _window(x: np.ndarray, t_end_s: float, valid_fraction: float = 1.0,
            rate: float = RATE, stream: tuple[str, str] = ("accel", "DE")) -> AnalysisWindow:
    """A window holding one single-channel stream (input name, channel name)."""
    valid = np.arange(x.size) < valid_fraction * x.size
    sw = StreamWindow(x[:, None].astype(np.float32), rate, (stream[1],),
                      int((t_end_s - x.size / rate) * 1e9), valid)
    return AnalysisWindow(int(t_end_s * 1e9), x.size / rate, {stream[0]: sw})


def _stage(tmp_path) -> PhysicsStage1:
    return PhysicsStage1(load("config/assets/cwru_motor.yaml"), ReferenceStore(tmp_path),
                         hop_s=0.25)


def test_abstains_while_commissioning_on_new_seconds_then_decides(tmp_path, bearing_signal):
    stage = _stage(tmp_path)
    signal = bearing_signal(RATE, 4.0, None, 29.3)
    w, hop = int(0.5 * RATE), int(0.25 * RATE)
    out = [stage.decide(_window(signal[st:st + w], 0.5 + 0.25 * k))
           for k, st in enumerate(range(0, signal.size - w + 1, hop))]
    # 2.5 s asked: 0.5 s then 0.25 s per overlapping window -> complete at the 9th window,
    # which taught the reference too; the 10th is the first decision against it
    assert all(isinstance(o, Abstention) for o in out[:9])
    assert [o.commissioning for o in out[:3]] == [(1, 9), (2, 9), (3, 9)]
    assert isinstance(out[9], Stage1Decision)
    assert out[9].state_probabilities[HealthState.NORMAL] == 1.0 and out[9].fault_type == "none"
    assert stage.status()["commissioning_progress"] == 1.0


def test_fault_gives_a_decision_with_physics_evidence(tmp_path, bearing_signal):
    stage = _stage(tmp_path)
    shaft = 29.3
    stage.given_rpm = shaft * 60
    for k in range(12):
        stage.decide(_window(bearing_signal(RATE, 0.5, None, shaft, seed=k), 0.5 + 0.5 * k))
    bpfo = stage.asset.bearings["drive_end"].outer_race * shaft
    for k in range(4):
        d = stage.decide(_window(bearing_signal(RATE, 0.5, bpfo, shaft, impact_g=2.0,
                                                seed=20 + k), 7.0 + 0.5 * k))
    assert d.anomalous and d.fault_type == "outer_race"
    assert np.argmax(d.state_probabilities) >= HealthState.WARNING
    assert "outer race fault on drive_end" in d.evidence[0]
    assert d.sequence.shape == (1, len(stage.monitor.feature_labels))


def test_inputs_it_cannot_take_are_refused_with_the_reason(tmp_path):
    stage = _stage(tmp_path)
    with pytest.raises(InputRefusedError, match="40%"):
        stage.decide(_window(np.zeros(10000), 1.0, valid_fraction=0.4))
    with pytest.raises(InputRefusedError, match="below 2222 Hz"):
        stage.decide(_window(np.zeros(2000), 1.0, rate=2000.0))


def test_a_mems_rate_decides_and_says_what_it_cannot_analyse(tmp_path, bearing_signal):
    stage, rate, shaft = _stage(tmp_path), 3200.0, 29.3
    for k in range(5):  # 2.5 s of commissioning at a 0.5 s hop
        out = stage.decide(_window(bearing_signal(rate, 0.5, None, shaft, resonance_hz=1000.0,
                                                  seed=k), 0.5 + 0.5 * k, rate=rate))
        assert isinstance(out, Abstention) and "envelope analysis needs" in out.reason
    off = stage.status()["not_analysed"]
    assert "fault type unknown: envelope analysis needs >= 3472 Hz, stream is 3200 Hz" in off
    assert "the 1-2.2 kHz band needs >= 4889 Hz" in off
    bpfo = stage.asset.bearings["drive_end"].outer_race * shaft
    for k in range(4):
        d = stage.decide(_window(bearing_signal(rate, 0.5, bpfo, shaft, impact_g=2.0,
                                                resonance_hz=1000.0, seed=20 + k),
                                 3.0 + 0.5 * k, rate=rate))
    # decided: the deviation reported, the state from the ISO zone (A), what is off said
    assert isinstance(d, Stage1Decision) and d.anomalous
    assert np.argmax(d.state_probabilities) == HealthState.NORMAL
    assert d.fault_type == "bearing_type_uncertain"
    assert "bearing-damage rules off" in d.evidence[0]
    assert "fault type unknown: envelope analysis needs >= 3472 Hz" in d.evidence[0]


# --- the optional microphone ----------------------------------------------------------------
MIC_RATE = 16000.0


def _mic_asset(tmp_path):
    import yaml

    data = yaml.safe_load(Path("config/assets/cwru_motor.yaml").read_text())
    data["asset"]["microphone"] = {"enabled": True}
    path = tmp_path / "cwru_motor_mic.yaml"
    path.write_text(yaml.safe_dump(data))
    return load(path)


def _with_mic(window: AnalysisWindow, sound: np.ndarray | None, rate: float = MIC_RATE,
              valid_fraction: float = 1.0) -> AnalysisWindow:
    if sound is None:
        return window
    valid = np.arange(sound.size) < valid_fraction * sound.size
    mic = StreamWindow(sound[:, None].astype(np.float32), rate, ("mic",),
                       window.t_end_ns - int(sound.size / rate * 1e9), valid)
    return AnalysisWindow(window.t_end_ns, window.duration_s,
                          {**window.streams, "mic": mic})


def _hum(seconds: float, seed: int, whine: bool = False, rate: float = MIC_RATE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.1 * rng.standard_normal(t.size) + 0.05 * np.sin(2 * np.pi * 120.0 * t)
    return x + (0.1 * np.sin(2 * np.pi * 3000.0 * t) if whine else 0.0)


def _mic_stage(tmp_path, alone_s: float = 30.0) -> PhysicsStage1:
    from pm_monitor.core.condition.acoustic import AcousticRules

    stage = PhysicsStage1(_mic_asset(tmp_path), ReferenceStore(tmp_path / "refs"), hop_s=0.5,
                          acoustic_rules=AcousticRules(alone_s=alone_s))
    stage.given_rpm = 29.3 * 60
    return stage


def _healthy(stage, k: int, bearing_signal, sound: np.ndarray | None, **mic):
    return stage.decide(_with_mic(_window(bearing_signal(RATE, 0.5, None, 29.3, seed=k),
                                          0.5 + 0.5 * k), sound, **mic))


def test_mic_commissions_beside_vibration_and_its_sound_change_alone_needs_persistence(
        tmp_path, bearing_signal):
    stage = _mic_stage(tmp_path, alone_s=3.0)
    for k in range(8):  # 2.5 s of both: both references complete
        _healthy(stage, k, bearing_signal, _hum(0.5, k))
    ref_dir = tmp_path / "refs"
    assert (ref_dir / "cwru_motor.reference.json").is_file()
    assert (ref_dir / "acoustic" / "cwru_motor.reference.json").is_file()
    assert stage.status()["mic_commissioning_progress"] == 1.0
    d = _healthy(stage, 8, bearing_signal, _hum(0.5, 8))
    assert isinstance(d, Stage1Decision) and np.argmax(d.state_probabilities) == 0
    assert any(e.startswith("mic anomaly") for e in d.evidence)
    states = [np.argmax(_healthy(stage, 9 + k, bearing_signal, _hum(0.5, 50 + k, whine=True))
                        .state_probabilities) for k in range(7)]
    # vibration stays healthy: the whine alone raises Pre-Warning only after 3 s (6 windows)
    assert states[:5] == [0] * 5 and states[5] == HealthState.PRE_WARNING
    last = _healthy(stage, 20, bearing_signal, _hum(0.5, 70, whine=True))
    assert not last.anomalous  # the window's anomaly flag stays the vibration's
    assert any("raised the state" in e for e in last.evidence)
    from types import SimpleNamespace

    from pm_monitor.core.condition.explain import PhysicsExplainer
    why = PhysicsExplainer(stage).explain(SimpleNamespace(
        t_end_ns=0, state=HealthState.PRE_WARNING, stage1_input=last.sequence))
    assert set(why.modality_weights) == {"accel", "mic"}
    top = max(why.feature_importance, key=why.feature_importance.get)
    assert top.startswith("mic_mic/share_")  # the whine's band explains it
    stage.reset_commissioning()
    assert not (ref_dir / "acoustic" / "cwru_motor.reference.json").exists()


def test_missing_or_refused_mic_never_blocks_the_vibration_decision(tmp_path, bearing_signal):
    stage = _mic_stage(tmp_path)
    for k in range(8):
        _healthy(stage, k, bearing_signal, None)  # commissioned without ever hearing the mic
    d = _healthy(stage, 8, bearing_signal, None)
    assert isinstance(d, Stage1Decision) and d.refused_inputs == ()
    low = _healthy(stage, 9, bearing_signal, np.zeros(2000), rate=4000.0)
    assert isinstance(low, Stage1Decision)
    assert low.refused_inputs[0][0] == "mic" and "below 8000 Hz" in low.refused_inputs[0][1]
    gappy = _healthy(stage, 10, bearing_signal, _hum(0.5, 1), valid_fraction=0.4)
    assert isinstance(gappy, Stage1Decision) and "40%" in gappy.refused_inputs[0][1]
    late = _healthy(stage, 11, bearing_signal, _hum(0.5, 2))  # a mic appearing later commissions
    assert isinstance(late, Stage1Decision)
    assert any("mic commissioning" in e for e in late.evidence)


def test_mic_of_an_asset_without_one_is_ignored(tmp_path, bearing_signal):
    stage = _stage(tmp_path)
    for k in range(12):
        d = _healthy(stage, k, bearing_signal, _hum(0.5, k, whine=k > 9))
    assert isinstance(d, Stage1Decision) and d.evidence == () and stage.acoustic is None
    assert not (tmp_path / "acoustic").exists()


# --- an asset watched by sound alone ------------------------------------------------------
def _fan_file(tmp_path) -> Path:
    """The shipped fan asset with 20 s of commissioning (600 s in the file)."""
    import yaml

    data = yaml.safe_load(Path("config/assets/mimii_fan.yaml").read_text())
    data["asset"]["commissioning"]["duration_s"] = 20.0
    path = tmp_path / "mimii_fan.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _fan_stage(tmp_path) -> PhysicsStage1:
    return PhysicsStage1(load(_fan_file(tmp_path)), ReferenceStore(tmp_path / "refs"),
                         hop_s=0.5)


def _sound(sound: np.ndarray, t_end_s: float, valid_fraction: float = 1.0,
           rate: float = MIC_RATE) -> AnalysisWindow:
    return _window(sound, t_end_s, valid_fraction, rate, ("mic", "mic"))


def _commission_fan(stage: PhysicsStage1, seconds: float = 20.0) -> list:
    """1 s windows every 0.5 s: the first counts 1 s, each later one 0.5 s of new sound."""
    n = int(2 * seconds) - 1
    return [stage.decide(_sound(_hum(1.0, k), 1.0 + 0.5 * k)) for k in range(n)]


def test_a_fan_by_sound_alone_commissions_then_raises_pre_warning_at_most(tmp_path):
    stage = _fan_stage(tmp_path)
    assert stage.required_inputs == ("mic",)
    out = _commission_fan(stage)
    assert all(isinstance(o, Abstention) for o in out)
    assert out[0].commissioning == (1, 39) and out[-1].commissioning == (39, 39)
    assert stage.commissioned() and stage.status()["commissioning_progress"] == 1.0
    assert (tmp_path / "refs" / "acoustic" / "mimii_fan.reference.json").is_file()
    t = 1.0 + 0.5 * len(out)
    normal = [stage.decide(_sound(_hum(1.0, 5000 + k), t + 0.5 * k)) for k in range(20)]
    assert all(isinstance(d, Stage1Decision) and np.argmax(d.state_probabilities) == 0
               and d.fault_type == "none" and not d.anomalous for d in normal)
    assert not normal[0].anomaly_alarms  # a bare deviation stays advisory
    t += 10.0
    changed = [stage.decide(_sound(_hum(1.0, 6000 + k, whine=True), t + 0.5 * k))
               for k in range(40)]
    states = [int(np.argmax(d.state_probabilities)) for d in changed]
    # alone_s 5 s of consecutive anomalous windows (10 hops) raise Pre-Warning, never more
    assert all(d.anomalous for d in changed)
    assert states[:9] == [0] * 9 and states[9] == HealthState.PRE_WARNING
    assert max(states) == HealthState.PRE_WARNING
    first = changed[0]
    assert first.fault_type == "acoustic_anomaly" and first.anomaly_score > first.anomaly_threshold
    assert "changed for 0.5 of the 5 s" in first.evidence[0]
    assert "share_2938_3436hz" in first.evidence[0]  # the whine's band is named
    assert "never goes higher" in changed[-1].evidence[0]
    # back to normal sound: the Pre-Warning latches until reset
    back = stage.decide(_sound(_hum(1.0, 7000), t + 30.0))
    assert np.argmax(back.state_probabilities) == HealthState.PRE_WARNING
    from types import SimpleNamespace

    from pm_monitor.core.condition.explain import PhysicsExplainer
    why = PhysicsExplainer(stage).explain(SimpleNamespace(
        t_end_ns=0, state=HealthState.PRE_WARNING, stage1_input=changed[-1].sequence))
    assert set(why.modality_weights) == {"mic"}
    assert max(why.feature_importance, key=why.feature_importance.get).startswith(
        "mic_mic/share_2938")


def test_a_fan_without_its_microphone_gets_no_decision(tmp_path):
    stage = _fan_stage(tmp_path)
    _commission_fan(stage)
    with pytest.raises(InputRefusedError, match="40%"):
        stage.decide(_sound(_hum(1.0, 1, whine=True), 30.0, valid_fraction=0.4))
    with pytest.raises(InputRefusedError, match="below 8000 Hz"):
        stage.decide(_sound(np.zeros(4000), 31.0, rate=4000.0))
    # through the cascade: a window without the microphone is no decision, no vote
    from pm_monitor.core.model_set import load_model_set
    models = load_model_set("models/physics", asset_file=str(_fan_file(tmp_path)),
                            reference_dir=str(tmp_path / "refs"))
    accel_only = _window(np.zeros(20000), 32.0)
    r = models.process(accel_only)
    assert not r.decided and "needs mic" in r.summary and not r.anomalous


# --- samples lost in transport ----------------------------------------------------------------
def _lossy_window(x: np.ndarray, t_end_s: float, lost: slice) -> AnalysisWindow:
    """A window whose samples in `lost` never arrived: zeros, valid False (the synchroniser)."""
    x = x.astype(np.float32)
    valid = np.ones(x.size, bool)
    valid[lost] = False
    x[~valid] = 0.0
    sw = StreamWindow(x[:, None], RATE, ("DE",), int((t_end_s - x.size / RATE) * 1e9), valid)
    return AnalysisWindow(int(t_end_s * 1e9), x.size / RATE, {"accel": sw})


def test_a_window_with_lost_samples_is_judged_on_its_received_stretch_never_on_zeros(
        tmp_path, bearing_signal, monkeypatch):
    stage = _stage(tmp_path)
    stage.given_rpm = 29.3 * 60
    for k in range(12):  # commissioned on whole windows
        stage.decide(_window(bearing_signal(RATE, 0.5, None, 29.3, seed=k), 0.5 + 0.5 * k))
    seen = []
    process = stage.monitor.process
    monkeypatch.setattr(stage.monitor, "process",
                        lambda samples, *a, **kw: seen.append((samples, kw)) or process(
                            samples, *a, **kw))
    x = bearing_signal(RATE, 0.5, None, 29.3, seed=40)
    lost = int(0.04 * x.size)  # the tail of a lost chunk: 96 % of the window received
    d = stage.decide(_lossy_window(x, 7.0, slice(0, lost)))
    samples, kw = seen[-1]
    np.testing.assert_array_equal(samples[:, 0], x[lost:].astype(np.float32))
    assert kw["gapped"] and kw["new_s"] == pytest.approx(0.48)  # all it received is new
    assert isinstance(d, Stage1Decision) and np.argmax(d.state_probabilities) == 0


def test_a_hole_inside_the_window_refuses_it_with_the_longest_stretch(tmp_path):
    stage = _stage(tmp_path)
    x = np.random.default_rng(0).standard_normal(10000)
    x[3000:4000] = x[6500:7000] = 0.0
    valid = x != 0.0  # two chunks lost: stretches of 30, 25 and 30 % of the window
    sw = StreamWindow(x[:, None].astype(np.float32), RATE, ("DE",), 0, valid)
    with pytest.raises(InputRefusedError, match=r"covers 85% .* longest stretch without lost "
                                                r"samples 30% \(needs 50%\)"):
        stage.decide(AnalysisWindow(int(0.5e9), 0.5, {"accel": sw}))


def test_received_stretch_counts_only_the_received_new_seconds():
    from pm_monitor.core.condition import stage as physics

    valid = np.ones(1000, bool)
    valid[-30:] = False  # the newest 30 ms did not arrive (3 % of the window)
    sw = StreamWindow(np.zeros((1000, 1), np.float32), 1000.0, ("DE",), 0, valid)
    stretch, new_s, why = physics.received_stretch(sw, new_s=0.5)
    assert why == "" and stretch.valid.size == 970
    assert new_s == pytest.approx(0.47)  # of the window's last 0.5 s, 0.47 s were received
    stretch, new_s, why = physics.received_stretch(sw, new_s=0.5, min_s=1.0)
    assert stretch is None and "lasts 0.970 s (needs 1.000 s)" in why


def test_a_lossy_microphone_is_judged_on_its_received_stretch(tmp_path, bearing_signal,
                                                              monkeypatch):
    stage = _mic_stage(tmp_path)
    _healthy(stage, 0, bearing_signal, _hum(0.5, 0))
    seen = []
    process = stage.acoustic.process
    monkeypatch.setattr(stage.acoustic, "process",
                        lambda samples, new_s: seen.append(samples) or process(samples, new_s))
    sound = _hum(0.5, 1)
    lost = int(0.02 * sound.size)
    window = _window(bearing_signal(RATE, 0.5, None, 29.3, seed=1), 1.0)
    valid = np.arange(sound.size) >= lost
    mic = StreamWindow(np.where(valid, sound, 0.0)[:, None].astype(np.float32), MIC_RATE,
                       ("mic",), window.t_end_ns - int(0.5e9), valid)
    stage.decide(AnalysisWindow(window.t_end_ns, 0.5, {**window.streams, "mic": mic}))
    np.testing.assert_array_equal(seen[-1][:, 0], sound[lost:].astype(np.float32))


def test_commissioning_never_learns_the_holes_of_lost_samples(tmp_path, bearing_signal,
                                                             monkeypatch):
    stage = _stage(tmp_path)
    stage.decide(_window(bearing_signal(RATE, 0.5, None, 29.3, seed=0), 0.5))
    learned = []
    add = stage.monitor.builder.add
    monkeypatch.setattr(stage.monitor.builder, "add",
                        lambda values, duration, *a: learned.append(duration) or add(
                            values, duration, *a))
    x = bearing_signal(RATE, 0.5, None, 29.3, seed=1)
    lost = int(0.03 * x.size)
    out = stage.decide(_lossy_window(x, 0.75, slice(x.size - lost, None)))  # newest 15 ms lost
    assert isinstance(out, Abstention)
    # the hop's 0.25 s are new, 15 ms of them never arrived: 0.235 s learned
    assert learned == [pytest.approx(0.235)]
    assert np.all(np.isfinite(stage.monitor.reference.rows[-1]))
