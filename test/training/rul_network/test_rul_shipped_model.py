"""The shipped FEMTO RUL model loads with weights_only and reproduces, from the stored raw
snapshots, the outputs written in its metadata (features + network + file, end to end)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.training.rul_network.ensemble import RulEnsemble
from pm_monitor.training.rul_network.snapshot import snapshot_inputs

MODEL_DIR = Path(__file__).resolve().parents[3] / "models" / "rul_femto"


def shipped_check_inputs() -> tuple[RulEnsemble, dict, np.ndarray, np.ndarray]:
    """The shipped model, its metadata, and the network inputs of its stored real windows."""
    meta = json.loads((MODEL_DIR / "rul_femto.json").read_text())
    model = RulEnsemble.load(MODEL_DIR / meta["file"])
    with np.load(MODEL_DIR / meta["check_windows"]["file"]) as z:
        raw = z["raw_milli_g"].astype(np.float64) * 0.001  # (n, steps, samples, 2) in g
    raw = raw.astype(np.float32)
    images = np.zeros((*raw.shape[:2], model.snapshot.levels, model.snapshot.image_width),
                      np.uint8)
    features = np.zeros((*raw.shape[:2], 7), np.float32)
    for i in range(raw.shape[0]):
        for k in range(raw.shape[1]):
            images[i, k], features[i, k] = snapshot_inputs(raw[i, k, :, 0], raw[i, k, :, 1],
                                                           model.snapshot)
    return model, meta, images, features


def test_shipped_model_matches_its_metadata():
    model, meta, images, features = shipped_check_inputs()
    for key in ("data", "split", "metrics", "date_utc", "snapshot_config", "calibration",
                "command"):
        assert meta[key], f"metadata lacks {key}"
    torch.load(MODEL_DIR / meta["file"], weights_only=True)  # plain tensors and values only
    assert model.snapshot.to_dict() == meta["snapshot_config"]
    got = model.member_outputs(images, features).mean(axis=0)
    np.testing.assert_allclose(got, np.asarray(meta["check_windows"]["expected"]), atol=1e-4)
    prediction = model.predict(images, features)
    for name, mean in prediction.mean.items():
        assert np.all(prediction.lower[name] <= mean) and np.all(mean <= prediction.upper[name])
    assert pytest.approx(0.8) == model.calibration.coverage
