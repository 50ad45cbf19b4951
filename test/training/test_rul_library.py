"""The run-to-failure library: add a user's histories, fit a prior-only model from them."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel, estimate
from pm_monitor.training import rul_library


def test_add_then_fit_prior_gives_a_calibrated_prior_only_model(tmp_path):
    library = tmp_path / "lib.jsonl"
    for i, life in enumerate([4000.0, 5500.0, 7000.0, 3000.0, 6500.0]):
        assert rul_library.main(["--library", str(library), "add", "--asset-type", "pump",
                                 "--life-s", str(life), "--history-id", f"p{i}"]) == 0
    rul_library.main(["--library", str(library), "add", "--asset-type", "pump",
                      "--life-s", "9000", "--censored"])
    entries = rul_library.read_library(library)
    assert len(entries) == 6 and not entries[-1]["failed"]
    out = tmp_path / "pump.json"
    assert rul_library.main(["--library", str(library), "fit-prior", "--asset-type", "pump",
                             "--out", str(out)]) == 0
    model = PrognosisModel.load(out)
    assert model.prior.reference == "seconds" and model.prior.n_failures == 5
    rows = np.ones((5, len(model.indicator_names)))
    result = estimate(model, OperatingCondition(), np.arange(5) * 10.0 + 1000.0, rows)
    assert result.valid and result.evidence == "population_prior"
    assert result.lower_s < result.median_s < result.upper_s


def test_rig_schedules_enter_the_library():
    entries = rul_library.rig_entries()
    assert entries and all(e["asset_type"] == "sim_rig" and e["life_s"] > 0 for e in entries)
