"""Protocol (c): drawn rig runs are reproducible, valid schedules whose indicators rise after
the scheduled onset."""
from __future__ import annotations

import numpy as np

from pm_monitor.training import rul_rig


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
