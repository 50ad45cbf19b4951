"""CWRU evaluation protocol on synthetic records (no data set needed)."""
import dataclasses
import itertools

import numpy as np

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition import defects
from pm_monitor.evaluation.any_machine import cwru_eval
from pm_monitor.evaluation.any_machine.common import ASSETS

RATE = 12000


def _healthy(seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    x = 0.05 * np.sin(2 * np.pi * 29.5 * t) + 0.02 * np.sin(2 * np.pi * 120.0 * t)
    return (x + 0.03 * np.random.default_rng(seed).standard_normal(t.size))[:, None]


def test_k_fold_holds_every_block_out_once_and_commissions_on_the_others():
    asset = dataclasses.replace(load(ASSETS / "cwru_motor.yaml"), commissioning_s=1.0)
    held = cwru_eval.held_out_normal(asset, _healthy(4.0), load_hp=1)
    assert held["k"] == 4
    spans = [f["block_s"] for f in held["folds"]]
    assert spans[0][0] == 0.0 and spans[-1][1] == 4.0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # a partition
    # windows every HELD_OUT_HOP_S inside each 1 s block: (1 - 0.5) / 0.025 + 1
    assert [f["windows"] for f in held["folds"]] == [21] * 4
    assert held["independent_windows"] == 8
    assert held["false"] == 0  # stationary healthy signal


def test_commissioning_uses_all_the_pieces_it_is_given():
    asset = dataclasses.replace(load(ASSETS / "cwru_motor.yaml"), commissioning_s=1.0)
    mon = cwru_eval._commissioned(asset, "t", [_healthy(1.5, 1), _healthy(1.5, 2)])
    assert mon.commissioned
    assert mon.reference.collected_s >= 2.5  # 3 s of samples: 0.5 s window + 0.25 s hops


def test_confusion_counts_windows_by_truth_and_call():
    records = [{"truth": "inner_race", "calls": {"inner_race": 30, defects.UNCERTAIN: 9}},
               {"truth": "ball", "calls": {"outer_race": 5, "other bearing": 2, "none": 1}}]
    m = cwru_eval.confusion(records)
    assert m[0, cwru_eval.CALLS.index("inner_race")] == 30
    assert m[0, cwru_eval.CALLS.index(defects.UNCERTAIN)] == 9
    assert m[2, cwru_eval.CALLS.index("outer_race")] == 5
    assert m[2, cwru_eval.CALLS.index("other bearing")] == 2
    assert m.sum() == 46  # "none" (an undetected window) has no column


def test_cross_load_counts_what_a_reference_calls_anomalous_elsewhere():
    asset = dataclasses.replace(load(ASSETS / "cwru_motor.yaml"), commissioning_s=1.0)
    mon = cwru_eval._commissioned(asset, "t", [_healthy(2.0, 3)])
    out = cwru_eval.cross_load(mon, {0: _healthy(1.0, 4), 3: 4.0 * _healthy(1.0, 5)})
    assert out["0"] == {"windows": 21, "anomalous": 0}
    assert out["3"] == {"windows": 21, "anomalous": 21}  # 4x the level: another condition


def test_the_protocol_runs_at_a_decimated_rate():
    asset = dataclasses.replace(load(ASSETS / "cwru_motor.yaml"), commissioning_s=1.0)
    from pm_monitor.evaluation.any_machine.common import decimated
    held = cwru_eval.held_out_normal(asset, decimated(_healthy(4.0), 4), load_hp=1,
                                     rate=RATE / 4)
    # the same window positions in seconds as at 12 kHz
    assert [f["windows"] for f in held["folds"]] == [21] * 4
    assert held["independent_windows"] == 8
