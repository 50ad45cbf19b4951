"""The models of the refit benchmark (benchmarks/rul_refit_benchmark.py), fitted on FEMTO's 6
learning bearings only (the benchmark reports the 5 test bearings, never seen by any of them),
cached under results/rul_state/cache/:

- M1 "before": the shipped design (evaluation/rul_evaluate.FEMTO_CONFIG);
- M2 "refit, another config": the same data, another FitConfig (round 2's default: no
  similarity view, no severity-conditioned durations): other durations and calibration, the
  same failure levels (they come from the same histories);
- M2s "refit, other data": the shipped design on 5 of the 6 learning bearings (Bearing1_1
  left out): other failure levels, durations, damage paths and calibration;
- M3 "new_reference": the shipped design with another damage-score reference length
  (reference_s 300 s instead of 600 s): its indicator memory is not the stored one's.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/rul_refit_models.py   (~5-10 min, once)
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.datasets.femto import LEARNING_BEARINGS
from pm_monitor.evaluation.rul_evaluate import FEMTO_CONFIG, VARIANTS, OnsetStates
from pm_monitor.training.rul_fit import FitConfig, History, fit_model
from pm_monitor.training.rul_indicators import load_records

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "results" / "rul_state" / "cache"
CONFIGS = {"M1_shipped_design": FEMTO_CONFIG,
           "M2_refit_round2_config": replace(FitConfig(), **VARIANTS["round2_default"]),
           "M2s_refit_5_bearings": FEMTO_CONFIG,
           "M3_reference_300s": replace(FEMTO_CONFIG, reference_s=300.0)}
# the learning bearings each model is fitted on (default: all 6)
SUBSETS = {"M2s_refit_5_bearings": tuple(b for b in LEARNING_BEARINGS if b != "Bearing1_1")}


def model_path(name: str) -> Path:
    return CACHE / f"{name}.json"


def fit_all(names: tuple[str, ...] = tuple(CONFIGS)) -> dict[str, PrognosisModel]:
    """Each model from the cache, fitted (and cached) where missing."""
    missing = [n for n in names if not model_path(n).is_file()]
    if missing:
        started = time.time()
        records = load_records(LEARNING_BEARINGS)  # as rul_evaluate.histories, 6 of 11
        hist0 = {n: History(n, r.t_s, r.indicators, r.names,
                            OperatingCondition(r.rpm, r.load_n), r.life_s)
                 for n, r in records.items()}
        onset = OnsetStates(LEARNING_BEARINGS)
        pair = onset.choose(LEARNING_BEARINGS)
        print(f"onset ratio pair on the learning bearings: {pair} "
              f"({time.time() - started:.0f} s)", flush=True)
        for name in missing:
            hist, config = onset.apply(hist0, pair, CONFIGS[name])
            model = fit_model([hist[n] for n in SUBSETS.get(name, LEARNING_BEARINGS)], config)
            CACHE.mkdir(parents=True, exist_ok=True)
            model.save(model_path(name))
            print(f"{name}: fitted ({time.time() - started:.0f} s)", flush=True)
    return {n: PrognosisModel.load(model_path(n)) for n in names}


if __name__ == "__main__":
    fit_all()
