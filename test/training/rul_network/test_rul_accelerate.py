"""The FEMTO RUL ensemble on ONNX Runtime gives the torch reference's answers on the stored
real windows (threshold: 1e-4 on normalised RUL, i.e. well under a second of a 2-hour life)."""
from __future__ import annotations

import numpy as np
from test_rul_shipped_model import shipped_check_inputs

from pm_monitor.core.inference import InferenceConfig
from pm_monitor.training.rul_network.accelerate import accelerate

PARITY_ATOL = 1e-4


def test_onnxruntime_members_match_torch_on_real_windows(tmp_path):
    model, meta, images, features = shipped_check_inputs()
    reference = model.member_outputs(images, features)
    report = accelerate(model, InferenceConfig(backend="onnxruntime",
                                               engine_cache_dir=str(tmp_path)))
    assert model.runners is not None and len(model.runners) == len(model.members)
    assert all(r.backend == "onnxruntime" for r in model.runners), report
    accelerated = model.member_outputs(images, features)
    np.testing.assert_allclose(accelerated, reference, atol=PARITY_ATOL)
    np.testing.assert_allclose(accelerated.mean(axis=0), meta["check_windows"]["expected"],
                               atol=PARITY_ATOL)
    assert list((tmp_path).rglob("*.onnx")), "the exports are cached on disk"


def test_torch_backend_keeps_the_reference(tmp_path):
    model, _, images, features = shipped_check_inputs()
    reference = model.member_outputs(images, features)
    accelerate(model, InferenceConfig(backend="torch", engine_cache_dir=str(tmp_path)))
    np.testing.assert_allclose(model.member_outputs(images, features), reference, atol=1e-6)
