"""What the monitor loads from a model directory: rig bundle (+ fusion gates) or real-data
profile; anything unloadable is a ModelLoadError naming the file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from pm_monitor.core.model_set import load_monitor_models
from pm_monitor.core.models.bundle import ModelLoadError

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_rig_bundle_explanations_carry_the_shipped_fusion_gates():
    models = load_monitor_models(MODELS / "rig_baseline")
    assert models.kind == "rig_bundle"
    assert models.accel_channels == ("x", "y", "z") and models.accel_unit == "m/s^2"
    assert models.explainer.modality_gates is not None
    assert any("fusion gates" in line for line in models.report)


def test_fusion_gates_can_be_switched_off_and_a_named_bad_file_is_an_error(tmp_path):
    off = load_monitor_models(MODELS / "rig_baseline", fusion_model_path="none")
    assert off.explainer.modality_gates is None
    broken = tmp_path / "full.pt"
    broken.write_bytes(b"not a model")
    shutil.copy(MODELS / "fusion" / "full.json", tmp_path / "full.json")
    with pytest.raises(ModelLoadError, match="full"):
        load_monitor_models(MODELS / "rig_baseline", fusion_model_path=str(broken))


def test_default_fusion_missing_beside_a_bundle_only_notes_it(tmp_path):
    bundle = tmp_path / "my_bundle"
    shutil.copytree(MODELS / "rig_baseline", bundle)
    models = load_monitor_models(bundle)  # no fusion/ beside it
    assert models.explainer.modality_gates is None
    assert any("no fusion gates" in line for line in models.report)


def test_a_directory_without_models_names_what_it_looked_for(tmp_path):
    with pytest.raises(ModelLoadError, match=r"profile\.json"):
        load_monitor_models(tmp_path)
