"""Protocol (c): drawn rig runs are reproducible, valid schedules whose indicators rise after
the scheduled onset."""
from __future__ import annotations

import numpy as np

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
