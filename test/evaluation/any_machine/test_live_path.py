"""The live path (SensorChunks through the node's pipeline) and the direct path (AssetMonitor
on windows cut by hand) agree window by window on a slice of CWRU: same commissioning, same
states, anomaly flags and fault calls. The windows compared are the synchroniser's (it starts
one hop in: its grid begins one window after the first stamp)."""
import dataclasses

import numpy as np
import pytest

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.defects import UNCERTAIN
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.condition.stage import MIN_COVERAGE
from pm_monitor.core.types import HealthState
from pm_monitor.datasets import DataNotFoundError, cwru
from pm_monitor.evaluation.any_machine.live_path import LiveUnit, write_asset

WINDOW_S, HOP_S = 0.5, 0.25


def _record(label: str) -> np.ndarray:
    try:
        rec = next(r for r in cwru.list_records() if r.load_hp == 0 and r.label == label)
        return cwru.load_record(rec).samples.astype(np.float32)
    except DataNotFoundError as err:
        pytest.skip(str(err))


def _direct(monitor: AssetMonitor, x: np.ndarray, starts: list[int], rate: float,
            window_s: float = WINDOW_S, hop_s: float = HOP_S) -> list:
    """AssetMonitor on the same windows, with the stage's commissioning seconds and calls."""
    monitor.restart_states()
    out, w = [], round(window_s * rate)
    for k, st in enumerate(starts):
        a = monitor.process(x[st:st + w], new_s=window_s if k == 0 else hop_s)
        if a.commissioning:
            out.append((False, -1, False, "none"))
            continue
        fault = "none"
        if a.state != HealthState.NORMAL or a.anomalous:
            fault = a.diagnosis.fault_type if a.diagnosis is not None else UNCERTAIN
        out.append((True, int(a.state), a.anomalous, fault))
    return out


def test_live_and_direct_paths_agree_on_every_decision(tmp_path):
    rate = cwru.RATE_12K_HZ
    normal, fault = _record("NORMAL")[: int(4.0 * rate)], _record("IR007")[: int(3.0 * rate)]
    asset_file = write_asset("cwru_motor", tmp_path, "pump_live",
                             analysis={"window_s": WINDOW_S, "hop_s": HOP_S})
    unit = LiveUnit(asset_file, tmp_path / "refs")
    direct = AssetMonitor(dataclasses.replace(load(asset_file)), ["DE"], rate)
    for x in (normal, fault):
        live = unit.play(x, rate, ["DE"])
        assert [w.first_sample for w in live][:2] == [round(HOP_S * rate),
                                                      round(2 * HOP_S * rate)]
        expected = _direct(direct, x, [w.first_sample for w in live], rate)
        assert [(w.decided, w.state, w.anomalous, w.fault) for w in live] == expected
    assert sum(not d for d, *_ in expected) == 0  # the fault run is all decided
    assert all(a for _, _, a, _ in expected) and expected[-1][3] == "inner_race"
    np.testing.assert_allclose(unit.stage.monitor.reference.median, direct.reference.median,
                               rtol=1e-12)


def test_femto_snapshots_played_back_to_back_are_one_window_each(tmp_path):
    """0.1 s windows from the asset file hold exactly one snapshot each: the live states equal
    AssetMonitor's on the same snapshots (the first one is before the synchroniser's grid)."""
    from pm_monitor.datasets import femto
    from pm_monitor.evaluation.any_machine.femto_eval import FEMTO_COMMISSION_S

    try:
        b = femto.load_bearing("Bearing3_3")
    except DataNotFoundError as err:
        pytest.skip(str(err))
    snaps = b.acc_g[:80].astype(np.float32)
    asset_file = write_asset("femto_bearing", tmp_path, "femto_slice",
                             shaft_speed={"source": "fixed", "nominal_rpm": float(b.rpm)},
                             commissioning={"duration_s": FEMTO_COMMISSION_S},
                             analysis={"window_s": 0.1, "hop_s": 0.1})
    live = LiveUnit(asset_file, tmp_path / "refs", zone_alarms=False).play(
        snaps.reshape(-1, 2), b.fs, ["horizontal", "vertical"])
    per = snaps.shape[1]
    assert all(w.first_sample % per == 0 for w in live)
    direct = AssetMonitor(load(asset_file), ["horizontal", "vertical"], b.fs)
    expected = []
    for w in live:
        a = direct.process(snaps[w.first_sample // per])
        expected.append(-1 if a.commissioning else int(a.state))
    assert [w.state for w in live] == expected
    # 6 s of 0.1 s snapshots (a float sum just under 6.0 takes one more: 61 on both paths)
    assert expected.count(-1) in (60, 61) and len(live) == 78
    assert max(expected) >= 0  # judged after commissioning


def test_rig_slices_agree_live_and_direct(tmp_path):
    """The simulated rig through the live path (m/s^2, 3 axes, 25.6 kHz, rig_eval's 1 s / 0.5 s
    windows): commissioning on 4 s of the healthy schedule, then 4 s of the outer-race schedule
    near failure as a second run; every decision equals AssetMonitor's on the same windows."""
    from pm_monitor.evaluation.any_machine import rig_eval
    from pm_monitor.evaluation.any_machine.live_path import rig_stream

    sims = {name: sim for name, _, sim in rig_eval.rig_runs()}
    rate, axes = sims["healthy"].config.accel_rate, list(sims["healthy"].config.accel_channels)
    healthy = rig_stream(sims["healthy"], 6.0)
    fault = sims["demo_outer_race"].accel(round(185.0 * rate), round(4.0 * rate))
    window_s, hop_s = rig_eval.RIG_WINDOW_S, rig_eval.RIG_HOP_S
    asset_file = write_asset("rig_motor", tmp_path, "rig_slice", commissioning={"duration_s": 4.0},
                             analysis={"window_s": window_s, "hop_s": hop_s})
    unit = LiveUnit(asset_file, tmp_path / "refs")
    direct = AssetMonitor(load(asset_file), axes, rate)
    runs = []
    for x in (healthy, fault):
        live = unit.play(x, rate, axes, unit="m/s^2")
        expected = _direct(direct, x, [w.first_sample for w in live], rate, window_s, hop_s)
        assert [(w.decided, w.state, w.anomalous, w.fault) for w in live] == expected
        runs.append(expected)
    assert any(not d for d, *_ in runs[0]) and all(d for d, *_ in runs[1])
    assert max(s for _, s, _, _ in runs[1]) >= HealthState.PRE_WARNING  # near failure: raised
    assert runs[1][-1][3] == "outer_race"


def test_chunks_lost_in_transport_leave_holes_that_are_refused_never_decided(tmp_path):
    rate = cwru.RATE_12K_HZ
    normal = _record("NORMAL")[: int(6.0 * rate)]
    unit = LiveUnit(write_asset("cwru_motor", tmp_path, "pump_lossy",
                                analysis={"window_s": WINDOW_S, "hop_s": HOP_S}),
                    tmp_path / "refs")
    lossless = unit.play(normal, rate, ["DE"])
    unit.stage.reset_commissioning()
    lossy = unit.play(normal, rate, ["DE"], chunk_loss=0.3, seed=3)
    # which 0.1 s chunks the link lost: the draw play makes, one per chunk
    chunk = round(0.1 * rate)
    draws = np.random.default_rng(3).random(normal.shape[0] // chunk)
    received = np.repeat(draws >= 0.3, chunk)
    w = round(WINDOW_S * rate)
    for win in lossy:
        inside = received[win.first_sample:win.first_sample + w]
        if win.decided or win.commissioning:  # judged or learned: a long stretch arrived
            runs = np.diff(np.flatnonzero(np.diff(np.r_[0, inside.astype(int), 0])))[::2]
            assert runs.max() >= MIN_COVERAGE * w
    refused = [v for v in lossy if not v.decided and not v.commissioning]
    assert refused and len(lossy) <= len(lossless)
    # 2.5 s of new data to learn: 6 s of a link losing 30 % give too few whole windows
    assert 0 < sum(v.commissioning for v in lossy) < sum(v.commissioning for v in lossless)
    assert not unit.stage.commissioned() and not any(v.decided for v in lossy)
