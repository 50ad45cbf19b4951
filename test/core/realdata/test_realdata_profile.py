"""Loading the real-data model set (models/real_data/model_set.json): what it exposes, and a
clear ModelLoadError naming the file for a missing, corrupt or mismatched one."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from realdata_windows import REAL_DATA_SET, profile

from pm_monitor.core.model_set import DESCRIPTOR_FILE, load_model_set, read_descriptor
from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.realdata.profile import load_profile

MODELS = REAL_DATA_SET.parent
DESCRIPTOR = REAL_DATA_SET / DESCRIPTOR_FILE


def load_real_set(directory: Path) -> None:
    load_model_set(directory)


def copied_profile(tmp_path: Path) -> Path:
    """The shipped real-data descriptor and its models copied under tmp_path/models (same
    layout); returns the descriptor's path."""
    spec = json.loads(DESCRIPTOR.read_text())
    stages = spec["stages"]
    named = [stages["stage1"]["weights"], stages["stage1"]["anomaly_weights"],
             *(e["weights"] for e in stages["localizers"] + stages["scorers"])]
    for relative in named:
        source = (REAL_DATA_SET / relative).resolve()
        target = tmp_path / "models" / source.relative_to(MODELS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    path = tmp_path / "models/real_data" / DESCRIPTOR_FILE
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
    slow = load_profile(read_descriptor(REAL_DATA_SET), shaft_rpm=1500.0)
    assert slow.shaft_hz == 25.0 and slow.info["shaft_rpm"] == 1500.0
    with pytest.raises(ValueError, match="shaft speed"):
        load_profile(read_descriptor(REAL_DATA_SET), shaft_rpm=-1.0)
    assert "shaft 1500 rpm" in load_model_set(REAL_DATA_SET, shaft_speed_rpm=1500.0
                                              ).describe()[1]


def test_missing_model_file_names_it(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    camera = tmp_path / "models/neu_surface/camera_defect.pt"
    camera.unlink()
    with pytest.raises(ModelLoadError, match=re.escape("camera_defect.pt: file not found")):
        load_real_set(path.parent)


def test_corrupt_model_file_names_it(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    weights = tmp_path / "models/thermal_motor/thermal_classifier.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=re.escape("thermal_classifier.pt: SHA-256 differs")):
        load_real_set(path.parent)


def test_mismatched_profile_values_name_the_files(tmp_path: Path) -> None:
    path = copied_profile(tmp_path)
    spec = json.loads(path.read_text())
    spec["stages"]["stage1"]["sequence_length"] = 12
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"stage1.json.*sequence_length 12"):
        load_real_set(path.parent)
    spec["stages"]["stage1"]["sequence_length"] = 10
    spec["inputs"]["mic"]["sample_rate_hz"] = 44100.0
    path.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set.json.*mic sample_rate_hz 44100"):
        load_real_set(path.parent)


def test_missing_or_broken_descriptor_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=re.escape("model_set.json: file not found")):
        load_real_set(tmp_path)
    broken = tmp_path / DESCRIPTOR_FILE
    broken.write_text("{")
    with pytest.raises(ModelLoadError, match=re.escape("model_set.json: not valid JSON")):
        load_real_set(tmp_path)
    spec = json.loads(DESCRIPTOR.read_text())
    del spec["stages"]["stage1"]["anomaly_weights"]
    broken.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set.json.*no weights named for autoencoder"):
        load_real_set(tmp_path)
    spec["stages"]["scorers"][0]["modality"] = "sonar"
    spec["window_s"] = 0
    broken.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set.json.*window_s must be a positive "
                                             r"number.*modality 'sonar' is not one of"):
        load_real_set(tmp_path)
