"""The one model-set loader: model_set.json -> the rig set (+ fusion gates) or the real-data set,
both of the ModelSet contract; anything unloadable is a ModelLoadError naming the file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from pm_monitor.core.model_set import ModelSet, load_model_set
from pm_monitor.core.models.bundle import ModelLoadError

MODELS = Path(__file__).resolve().parents[3] / "models"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_rig_bundle_explanations_carry_the_shipped_fusion_gates():
    models = load_model_set(MODELS / "rig_baseline")
    assert isinstance(models, ModelSet) and models.name == "rig_baseline"
    assert models.accel_channels == ("x", "y", "z") and models.accel_unit == "m/s^2"
    assert models.explainer.modality_gates is not None
    assert any("fusion gates" in line for line in models.report)


def test_fusion_gates_can_be_switched_off_and_a_named_bad_file_is_an_error(tmp_path):
    off = load_model_set(MODELS / "rig_baseline", fusion_model_path="none")
    assert off.explainer.modality_gates is None
    broken = tmp_path / "full.pt"
    broken.write_bytes(b"not a model")
    shutil.copy(MODELS / "fusion" / "full.json", tmp_path / "full.json")
    with pytest.raises(ModelLoadError, match="full"):
        load_model_set(MODELS / "rig_baseline", fusion_model_path=str(broken))


def _copied_bundle(tmp_path: Path, rul) -> Path:
    """The shipped rig bundle copied alone (no fusion/ or rul_rig/ beside it), its
    descriptor's RUL stage replaced by `rul`."""
    bundle = tmp_path / "my_bundle"
    shutil.copytree(MODELS / "rig_baseline", bundle)
    descriptor = json.loads((bundle / "model_set.json").read_text())
    descriptor["stages"]["rul"] = rul
    (bundle / "model_set.json").write_text(json.dumps(descriptor))
    return bundle


def test_default_fusion_missing_beside_a_bundle_only_notes_it(tmp_path):
    models = load_model_set(_copied_bundle(tmp_path, None))  # no fusion/ beside it
    assert models.explainer.modality_gates is None
    assert any("no fusion gates" in line for line in models.report)
    assert models.cascade.rul is None


def test_the_rig_set_runs_the_rul_stage_its_descriptor_names(tmp_path):
    shipped = load_model_set(MODELS / "rig_baseline", fusion_model_path="none")
    assert shipped.cascade.rul is not None and any("rul:" in line for line in shipped.report)
    assert shipped.status()["rul_onset_source"] == "any-machine monitor (rig_motor)"
    entry = json.loads((MODELS / "rig_baseline" / "model_set.json").read_text())["stages"]["rul"]
    # a named RUL model that is not there (the bundle copied without ../rul_rig): a clear error
    with pytest.raises(ModelLoadError, match=r"stages\.rul: .*rul_rig/rul_prognosis\.json"):
        load_model_set(_copied_bundle(tmp_path, entry), fusion_model_path="none")
    with pytest.raises(ModelLoadError, match=r"stages\.rul: rul kind must be 'prognosis'"):
        load_model_set(_copied_bundle(tmp_path / "b", {"kind": "health_index"}),
                       fusion_model_path="none")


def test_a_directory_without_models_names_what_it_looked_for(tmp_path):
    with pytest.raises(ModelLoadError, match=r"model_set\.json: file not found"):
        load_model_set(tmp_path)


def test_both_shipped_sets_declare_their_inputs_and_who_needs_them():
    rig = load_model_set(MODELS / "rig_baseline", fusion_model_path="none")
    assert rig.sample_rates == {} and rig.accel_unit == "m/s^2"
    assert rig.inputs["thermal"].required_by == ("rig_stage1", "thermal_localizer")
    assert rig.inputs["mic"].required_by == ("rig_stage1",)
    real = load_model_set(MODELS / "real_data")
    assert isinstance(real, ModelSet) and type(real) is type(rig)
    assert type(real.cascade) is type(rig.cascade)  # one cascade class for both
    assert real.sample_rates == {"accel": 25600.0, "mic": 16000.0}
    assert real.accel_channels == ("horizontal", "vertical") and real.accel_unit == "g"
    assert real.inputs["accel"].required_by == ("femto_stage1",)
    assert real.inputs["camera"].required_by == ("camera_defect",)
    assert real.status()["commissioning"] == "0/30"
    assert real.describe()[0].startswith("model set real_data: window 0.1 s")


def test_descriptor_errors_name_the_file_and_every_problem(tmp_path):
    bundle = tmp_path / "my_bundle"
    shutil.copytree(MODELS / "rig_baseline", bundle)
    descriptor = bundle / "model_set.json"
    spec = json.loads(descriptor.read_text())
    spec["hop_s"] = 0.25
    descriptor.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set\.json: window_s / hop_s 1 / 0\.25 "
                                             r"differ from the bundle's 1 / 0\.5"):
        load_model_set(bundle)
    spec.update(format=2, inputs={"lidar": {"unit": "m"}})
    spec["stages"]["stage1"] = {"bundle": "."}
    descriptor.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set\.json: format must be 1.*inputs\.lidar: "
                                             r"unknown input.*stages\.stage1 must be an object "
                                             r"with a kind"):
        load_model_set(bundle)
    spec.update(format=1, inputs={"accel": {"channels": ["x"], "unit": "g"}})
    spec["stages"]["stage1"] = {"kind": "oracle"}
    spec["stages"]["localizers"] = []
    descriptor.write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match=r"model_set\.json: unknown stages\.stage1\.kind "
                                             r"'oracle'"):
        load_model_set(bundle)


def test_the_rig_sets_rul_stage_keeps_its_state_under_reference_dir(tmp_path):
    """The monitor passes its reference_dir and asset_id: the RUL stage's state and onset
    reference are stored there (parts apart from the physics set's) and restored."""
    models = load_model_set(MODELS / "rig_baseline", fusion_model_path="none",
                            reference_dir=str(tmp_path), asset_id="motor_7")
    estimator = models.cascade.rul.estimator
    assert estimator.asset_id == "motor_7"
    assert estimator.state_path == tmp_path / "monitor_rul_state" / "motor_7.rul_state.json"
    assert any(line.startswith("rul state: new asset") for line in models.report)
    assert models.status()["rul_state"].startswith("new asset")
    without = load_model_set(MODELS / "rig_baseline", fusion_model_path="none")
    assert without.cascade.rul.estimator.state_store is None  # offline: nothing kept
