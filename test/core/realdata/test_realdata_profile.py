"""Loading the real-data profile: what it exposes, and a clear ModelLoadError naming the file
for a missing, corrupt or mismatched one."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from realdata_windows import profile

from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.realdata.profile import DEFAULT_PROFILE, MODEL_KEYS, load_real_profile

MODELS = DEFAULT_PROFILE.parents[1]


def copied_profile(tmp_path: Path) -> Path:
    """The shipped profile and its models copied under tmp_path/models (same layout)."""
    spec = json.loads(DEFAULT_PROFILE.read_text())
    for key in MODEL_KEYS:
        source = (DEFAULT_PROFILE.parent / spec["models"][key]).resolve()
        target = tmp_path / "models" / source.relative_to(MODELS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    path = tmp_path / "models/real_data/profile.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return path


def test_shipped_profile_exposes_inputs_and_versions() -> None:
    p = profile()
    assert p.accel_channels == ("horizontal", "vertical")
    assert (p.window_s, p.hop_s, p.shaft_rpm) == (0.1, 0.1, 1800.0)
    assert p.window_s * p.accel.sample_rate_hz == 2560  # one FEMTO snapshot per window
    assert (p.baseline_snapshots, p.sequence_length) == (30, 10)
    assert p.info["models"]["stage1"]["metrics"]["auroc_stage1"] > 0.99
    assert "stage1" in p.version and "acoustic" in p.version
    assert len(p.thermal.class_names) == 11 and len(p.camera.class_names) == 6
    # what the monitor's pipeline checks inputs against, and its start-up log
    assert p.accel_unit == "g" and p.sample_rates == {"accel": 25600.0, "mic": 16000.0}
    lines = p.describe()
    assert len(lines) == 6 and "shaft 1800 rpm" in lines[0]
    assert "AUROC Normal-vs-not 0.999" in lines[1] and "accuracy 0.972" in lines[4]


def test_shaft_speed_override_moves_the_defect_frequencies() -> None:
    slow = load_real_profile(shaft_rpm=1500.0)
    assert slow.shaft_hz == 25.0 and slow.info["shaft_rpm"] == 1500.0
    with pytest.raises(ValueError, match="shaft speed"):
        load_real_profile(shaft_rpm=-1.0)


def test_missing_model_file_names_it(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    camera = tmp_path / "models/neu_surface/camera_defect.pt"
    camera.unlink()
    with pytest.raises(ModelLoadError, match=re.escape("camera_defect.pt: file not found")):
        load_real_profile(path)


def test_corrupt_model_file_names_it(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    weights = tmp_path / "models/thermal_motor/thermal_classifier.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=re.escape("thermal_classifier.pt: SHA-256 differs")):
        load_real_profile(path)


def test_mismatched_profile_values_name_the_files(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    spec = json.loads(path.read_text())
    spec["sequence_length"] = 12
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"stage1.json.*sequence_length 12"):
        load_real_profile(path)
    spec["sequence_length"], spec["mic"]["sample_rate_hz"] = 10, 44100.0
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"profile.json.*mic sample_rate_hz 44100"):
        load_real_profile(path)


def test_missing_or_broken_profile_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=re.escape("nothing.json: file not found")):
        load_real_profile(tmp_path / "nothing.json")
    broken = tmp_path / "profile.json"
    broken.write_text("{")
    with pytest.raises(ModelLoadError, match=re.escape("profile.json: not valid JSON")):
        load_real_profile(broken)
    broken.write_text(json.dumps({"format": 1, "models": {"stage1": "x.pt"}}))
    with pytest.raises(ModelLoadError, match="models lacks autoencoder"):
        load_real_profile(broken)
