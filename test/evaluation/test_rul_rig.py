"""Protocol (c): drawn rig runs are reproducible, valid schedules whose indicators rise after
the scheduled onset."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pm_monitor.evaluation import rul_rig


def test_drawn_schedules_are_reproducible_and_leave_a_healthy_reference():
    for k in range(5):
        schedule = rul_rig.draw_schedule(k)
        assert schedule == rul_rig.draw_schedule(k)
        fault = schedule.faults[0]
        assert fault.failure_s >= rul_rig.MIN_LIFE_S
        assert fault.onset_s >= rul_rig.ONSET_FRACTION[0] * fault.failure_s - 1.0
        assert fault.onset_s > rul_rig.RIG_FIT.reference_s  # health to commission on
    assert len({rul_rig.draw_schedule(k).faults[0].failure_s for k in range(5)}) > 1


def test_a_simulated_run_degrades_after_its_onset():
    history = rul_rig.simulate(0)
    fault = rul_rig.draw_schedule(0).faults[0]
    assert history.life_s == fault.failure_s and history.t_s[-1] <= history.life_s
    rms = history.columns(("rms_g_h",))[:, 0]
    healthy = np.median(rms[history.t_s < fault.onset_s])
    assert np.median(rms[-5:]) > 2.0 * healthy


def test_a_simulated_run_carries_the_any_machine_states_for_its_onset():
    history = rul_rig.simulate(0)
    states = history.state_rows()
    commissioning = history.t_s <= rul_rig.RIG_FIT.reference_s - rul_rig.SNAPSHOT_PERIOD_S
    assert np.all(states[commissioning] == -1)  # the reference is being learned: not judged
    judged = history.t_s > rul_rig.RIG_FIT.reference_s + 2 * rul_rig.SNAPSHOT_PERIOD_S
    assert np.all(states[judged] >= 0)
    assert states[-1] >= 1  # the fault grew to failure: the monitor left Normal
    onset = history.onset_s()
    assert onset is not None and onset > rul_rig.RIG_FIT.reference_s


def test_the_shipped_rig_model_is_what_the_monitor_runs():
    """models/rig_baseline/model_set.json's RUL stage takes the snapshots this protocol fitted
    the shipped model on (period, length, channels, reference, asset)."""
    import json

    from pm_monitor.core.rul.prognosis import PrognosisModel

    root = rul_rig.REPO_ROOT
    entry = json.loads((root / "models" / "rig_baseline" / "model_set.json").read_text())[
        "stages"]["rul"]
    assert entry["update_period_s"] == rul_rig.SNAPSHOT_PERIOD_S
    assert entry["window_s"] == rul_rig.SNAPSHOT_S and entry["channels"] == ["x", "y"]
    base = root / "models" / "rig_baseline"
    assert (base / entry["model"]).resolve() == rul_rig.SHIPPED_RIG_MODEL.resolve()
    assert (base / entry["asset"]).resolve() == rul_rig.RIG_ASSET.resolve()
    model = PrognosisModel.load(rul_rig.SHIPPED_RIG_MODEL)
    assert model.onset.reference_s == rul_rig.RIG_FIT.reference_s
    assert model.prior.n_histories == 10  # all drawn runs


def test_the_monitors_rul_stage_sees_the_onset_the_model_was_fitted_with():
    """Live == offline: the drawn run's windows through the rig model set's RUL stage give
    the history's indicators' onset (the same snapshots, the same AssetMonitor)."""
    from pm_monitor.core.model_set.rig import shipped_rig_rul
    from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
    from pm_monitor.core.types import ACCEL
    from pm_monitor.sim import RigConfig, RigSimulator

    history = rul_rig.simulate(0)
    stage = shipped_rig_rul(rul_rig.REPO_ROOT / "models" / "rig_baseline")
    config = RigConfig()
    sim = RigSimulator(config, rul_rig.draw_schedule(0), seed=0)
    rate = config.accel_rate
    n = round(1.0 * rate)  # the model set's 1 s windows, hop 0.5 s; the newest 0.1 s is it
    estimates = []
    for t in np.arange(1.0, history.life_s + 1e-6, 0.5):
        end = round(t * rate)
        samples = sim.accel(end - n, n).astype(np.float32)
        stream = StreamWindow(samples, rate, ("x", "y", "z"), round((t - 1.0) * 1e9),
                              np.ones(n, bool))
        made = stage.observe(AnalysisWindow(round(t * 1e9), 1.0, {ACCEL: stream}))
        if made is not None:
            estimates.append(made)
    assert len(estimates) == history.t_s.size
    assert [e.elapsed_s for e in estimates] == pytest.approx(list(history.t_s))
    live_onset = next(e.onset_s for e in estimates if e.onset_s is not None)
    assert live_onset == pytest.approx(history.onset_s())
    assert estimates[0].evidence == "population_prior" and estimates[-1].valid


def test_the_rig_fit_is_the_named_variant_and_the_others_are_reported_beside_it():
    shipped_change = rul_rig.RIG_VARIANTS[rul_rig.RIG_VARIANT]
    assert replace(rul_rig.RIG_BASE, **shipped_change) == rul_rig.RIG_FIT
    assert set(rul_rig.OTHERS) == set(rul_rig.RIG_VARIANTS) - {rul_rig.RIG_VARIANT}
    for name, config in rul_rig.OTHERS.items():
        assert config == replace(rul_rig.RIG_BASE, **rul_rig.RIG_VARIANTS[name])
        assert name in rul_rig.METHODS and name in rul_rig.INTERVALS
