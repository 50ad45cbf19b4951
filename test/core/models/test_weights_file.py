"""Weights + metadata files: round trip, and a clear error naming the file for every defect."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from pm_monitor.core.models.bundle import ModelLoadError
from pm_monitor.core.models.weights import load_weights, metadata_path, save_weights


class Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.linear = nn.Linear(2, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def _save(tmp_path, width: int = 3):
    torch.manual_seed(0)
    model = Tiny(width)
    path = tmp_path / "tiny.pt"
    save_weights(model, path, model_name="tiny", hyperparameters={"width": width},
                 data="unit test", split="none", metrics={"accuracy": 1.0})
    return model, path


def test_round_trip_restores_outputs_and_metadata(tmp_path):
    model, path = _save(tmp_path)
    loaded, meta = load_weights(Tiny, path, expected_model="tiny")
    x = torch.randn(4, 2)
    assert torch.equal(model(x), loaded(x))
    assert meta["metrics"] == {"accuracy": 1.0} and len(meta["sha256"]) == 64
    assert not loaded.training


@pytest.mark.parametrize("defect", ["missing", "corrupt", "truncated_meta", "wrong_model",
                                    "mismatched"])
def test_defects_are_clear_errors_naming_the_file(tmp_path, defect):
    _, path = _save(tmp_path)
    if defect == "missing":
        path.unlink()
    elif defect == "corrupt":
        path.write_bytes(b"not a zip file")
    elif defect == "truncated_meta":
        metadata_path(path).write_text("{\"model\": ")
    elif defect == "wrong_model":
        pass
    elif defect == "mismatched":
        meta = json.loads(metadata_path(path).read_text())
        meta["hyperparameters"] = {"width": 5}
        metadata_path(path).write_text(json.dumps(meta))
    expected = "other" if defect == "wrong_model" else None
    with pytest.raises(ModelLoadError) as err:
        load_weights(Tiny, path, expected_model=expected)
    assert "tiny" in str(err.value)


def test_released_model_versions_do_not_carry_the_dirty_mark():
    """The shipped real-data models were saved from a working tree with changes: their
    metadata says "<commit>-dirty" (provenance, kept); what the monitor shows does not."""
    from pathlib import Path

    from pm_monitor.core.model_set.descriptor import read_descriptor
    from pm_monitor.core.models.weights import release_version
    from pm_monitor.core.realdata.profile import load_profile

    assert release_version("0873886-dirty") == "0873886"
    assert release_version("0873886") == "0873886"
    profile = load_profile(read_descriptor(
        Path(__file__).resolve().parents[3] / "models" / "real_data"))
    assert "-dirty" not in profile.version
    assert not any("-dirty" in line for line in profile.describe())
