import json

import numpy as np
import pytest
import torch

from pm_monitor.core.models.bundle import (
    METADATA_FILE,
    WEIGHT_FILES,
    ModelLoadError,
    load_bundle,
    save_bundle,
    save_bundle_metadata,
)
from pm_monitor.training.rig_bundle_architecture import untrained_bundle


@pytest.fixture()
def saved_bundle(tmp_path):
    bundle = untrained_bundle(seed=3)
    bundle.scaler.mean[:] = np.arange(bundle.scaler.mean.size)
    save_bundle(bundle, tmp_path)
    return bundle, tmp_path


def test_round_trip_gives_the_same_outputs(saved_bundle):
    original, directory = saved_bundle
    loaded = load_bundle(directory)
    assert loaded.feature_names == original.feature_names
    np.testing.assert_array_equal(loaded.scaler.mean, original.scaler.mean)
    assert loaded.threshold == original.threshold
    sequence = torch.randn(1, 8, len(original.feature_names))
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.stage1(sequence).state_logits, original.stage1(sequence).state_logits
        )
        frame = torch.randn(1, 1, 120, 160)
        torch.testing.assert_close(loaded.thermal(frame).logits, original.thermal(frame).logits)
    assert not loaded.stage1.training
    assert loaded.degraded_evidence == {}  # none measured: every input stays required


def test_degraded_evidence_is_added_to_the_metadata_without_touching_the_weights(saved_bundle):
    original, directory = saved_bundle
    weights = {name: (directory / name).read_bytes() for name in WEIGHT_FILES.values()}
    original.degraded_evidence = {"measured_through": "Cascade.process",
                                  "without": {"thermal": {"max_state": "failure"}}}
    save_bundle_metadata(original, directory)
    assert load_bundle(directory).degraded_evidence == original.degraded_evidence
    assert {name: (directory / name).read_bytes() for name in WEIGHT_FILES.values()} == weights


def test_missing_weight_file_names_the_file(saved_bundle):
    _, directory = saved_bundle
    (directory / WEIGHT_FILES["thermal"]).unlink()
    with pytest.raises(ModelLoadError, match=r"thermal_localizer\.pt.*file not found"):
        load_bundle(directory)


def test_corrupt_weight_file_is_a_clear_error(saved_bundle):
    _, directory = saved_bundle
    (directory / WEIGHT_FILES["stage1"]).write_bytes(b"\x00not a torch file")
    with pytest.raises(ModelLoadError, match=r"stage1_bilstm\.pt.*not a readable state_dict"):
        load_bundle(directory)


def test_weights_of_another_architecture_are_rejected(saved_bundle):
    _, directory = saved_bundle
    torch.save({"weight": torch.zeros(3)}, directory / WEIGHT_FILES["autoencoder"])
    with pytest.raises(ModelLoadError, match="do not fit the model"):
        load_bundle(directory)


def test_corrupt_or_incomplete_metadata(saved_bundle):
    _, directory = saved_bundle
    path = directory / METADATA_FILE
    meta = json.loads(path.read_text())
    del meta["normalisation"]
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="invalid metadata"):
        load_bundle(directory)
    path.write_text("{ truncated")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_bundle(directory)


def test_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match=r"metadata\.json.*file not found"):
        load_bundle(tmp_path / "nowhere")
