"""The model file: round trip, and missing / corrupt / mismatched files are clear errors that
name the file. Calibration intervals contain the prediction and stay in [0, 1]."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from rul_fakes import fake_bearing, small_ensemble

from pm_monitor.training.rul_network.ensemble import Calibration, RulEnsemble, RulModelError
from pm_monitor.training.rul_train import gather


def test_save_load_round_trip_gives_the_same_predictions(tmp_path):
    ensemble = small_ensemble()
    bearing = fake_bearing("X")
    images, features = gather(bearing, np.array([0, 10, 39]), ensemble.sequence)
    path = tmp_path / "rul.pt"
    ensemble.save(path)
    loaded = RulEnsemble.load(path)
    before, after = ensemble.predict(images, features), loaded.predict(images, features)
    for name in before.mean:
        np.testing.assert_allclose(after.mean[name], before.mean[name], atol=1e-6)
        np.testing.assert_allclose(after.upper[name], before.upper[name], atol=1e-6)
        assert np.all(after.lower[name] <= after.mean[name])
        assert np.all(after.mean[name] <= after.upper[name])


def test_missing_file_names_it(tmp_path):
    with pytest.raises(RulModelError, match=r"nope\.pt"):
        RulEnsemble.load(tmp_path / "nope.pt")


def test_corrupt_file_names_it(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(RulModelError, match=r"broken\.pt"):
        RulEnsemble.load(path)


def test_mismatched_files_name_it(tmp_path):
    path = tmp_path / "rul.pt"
    small_ensemble().save(path)
    payload = torch.load(path, weights_only=True)
    payload["format"] = "something/else"
    torch.save(payload, tmp_path / "wrong_format.pt")
    with pytest.raises(RulModelError, match=r"wrong_format\.pt.*format"):
        RulEnsemble.load(tmp_path / "wrong_format.pt")
    payload = torch.load(path, weights_only=True)
    payload["net_config"]["branch_dim"] = 16  # weights no longer fit the network
    torch.save(payload, tmp_path / "wrong_shape.pt")
    with pytest.raises(RulModelError, match=r"wrong_shape\.pt"):
        RulEnsemble.load(tmp_path / "wrong_shape.pt")
    payload = torch.load(path, weights_only=True)
    del payload["members"][0]["head.0.weight"]
    torch.save(payload, tmp_path / "missing_tensor.pt")
    with pytest.raises(RulModelError, match=r"missing_tensor\.pt"):
        RulEnsemble.load(tmp_path / "missing_tensor.pt")


def test_calibration_quantiles_per_bin():
    rng = np.random.default_rng(0)
    predicted = rng.random((2000, 2))
    truth = np.clip(predicted + rng.normal(0, 0.1, size=(2000, 2)), 0, 1)
    calibration = Calibration.fit(predicted, truth, 0.8)
    lower, upper = calibration.interval(predicted[:, 0], "piecewise")
    assert np.all((lower >= 0) & (upper <= 1) & (lower <= predicted[:, 0]))
    inside = np.mean((truth[:, 0] >= lower) & (truth[:, 0] <= upper))
    assert inside == pytest.approx(0.8, abs=0.05)  # in-sample: the nominal coverage
