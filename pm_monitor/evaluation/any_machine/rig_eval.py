"""Simulated-rig part of the any-machine evaluation: detection delay, false alarms, fault type."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.monitor import AssetMonitor
from pm_monitor.core.types import HealthState
from pm_monitor.evaluation.any_machine.common import ASSETS, fmt, log
from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.fault_schedule import FaultSchedule, load_fault_schedule
from pm_monitor.sim.simulator import RigSimulator

RIG_SCHEDULES = ("healthy", "demo_outer_race", "inner_race_nde")  # soak: onset at 600 s
RIG_WINDOW_S, RIG_HOP_S, RIG_DURATION_S = 1.0, 0.5, 240.0


def rig_runs() -> Iterator[tuple[str, FaultSchedule, RigSimulator]]:
    """(schedule name, schedule, its simulator) for each evaluated schedule present."""
    config = RigConfig()
    for name in RIG_SCHEDULES:
        path = Path("config/fault_schedules") / f"{name}.yaml"
        if path.is_file():
            schedule = load_fault_schedule(path)
            yield name, schedule, RigSimulator(config, schedule, seed=0)


def rig_scores(schedule: FaultSchedule, first_alarm_s: float | None, types: list[str]) -> dict:
    """One schedule's numbers from its first not-Normal window's end time (s from the start)
    and the fault types called from then on."""
    onset = min((f.onset_s for f in schedule.faults), default=None)
    truth = schedule.faults[0].fault_type if schedule.faults else "none"
    return {"truth": truth, "onset_s": onset, "first_alarm_s": first_alarm_s,
            "delay_s": None if (first_alarm_s is None or onset is None)
            else first_alarm_s - onset,
            "false_alarm": first_alarm_s is not None and (onset is None
                                                          or first_alarm_s < onset),
            "fault_type_majority": Counter(types).most_common(1)[0][0] if types else "none",
            "fault_type_right_pct": 100.0 * types.count(truth) / len(types) if types else None}


def rig_section() -> dict:
    """The simulated rig (pm_monitor.sim): commissioning on its first
    20 s (before any scheduled onset), then detection delay, false alarms and fault type."""
    asset = load(ASSETS / "rig_motor.yaml")
    out = {}
    for name, schedule, sim in rig_runs():
        log(f"rig {name}")
        config = sim.config
        mon = AssetMonitor(dataclasses.replace(asset, asset_id=f"rig_{name}"),
                           list(config.accel_channels), config.accel_rate)
        n, hop = int(RIG_WINDOW_S * config.accel_rate), int(RIG_HOP_S * config.accel_rate)
        first_alarm_s, types = None, []
        for k in range(int((RIG_DURATION_S - RIG_WINDOW_S) / RIG_HOP_S) + 1):
            a = mon.process(sim.accel(k * hop, n), "m/s^2",
                            new_s=RIG_WINDOW_S if k == 0 else RIG_HOP_S)
            t_end = k * RIG_HOP_S + RIG_WINDOW_S
            if a.state != HealthState.NORMAL and first_alarm_s is None:
                first_alarm_s = t_end
            if a.diagnosis is not None and first_alarm_s is not None:
                types.append(a.diagnosis.fault_type)
        out[name] = rig_scores(schedule, first_alarm_s, types)
    return out


def rig_lines(section: dict) -> list[str]:
    """The report lines of the rig section (section)."""
    lines: list[str] = []
    lines += ["## Simulated rig (triaxial 25.6 kHz m/s^2, commissioning on the first 20 s)",
              "", "| schedule | truth | onset s | first alarm s | delay s | false alarm |"
              " fault type (majority after the alarm) | right % |",
              "|---|---|---|---|---|---|---|---|"]
    for name, r in section.items():
        lines.append(f"| {name} | {r['truth']} | {fmt(r['onset_s'])} | "
                     f"{fmt(r['first_alarm_s'])} | {fmt(r['delay_s'])} | "
                     f"{r['false_alarm']} | {r['fault_type_majority']} | "
                     f"{fmt(r['fault_type_right_pct'])} |")
    lines.append("")
    return lines
