"""Held-out evidence for the rig Stage 1 deciding without one modality or two (one left),
measured through the real cascade and alarm manager, written into the bundle's metadata
("degraded_evidence", read by pm_monitor.core.model_set.degraded, which enables a degraded mode
only where it allows).

    python -m pm_monitor.training.degraded_evidence [--bundle models/rig_baseline]
                                                    [--results results/rig_baseline] [--quick]

The held-out runs of the rig plan (never seen in training, validation or any threshold choice)
are simulated once; every window goes through one cascade per condition: all inputs; each SET
of MISSING_SETS (accel, mic or thermal, and each pair of them: accel+mic, accel+thermal,
mic+thermal, the set's members always together) removed for the whole run ("whole_run": dead
from the start); removed in alternate BLOCK_S blocks ("intermittent": dropping out and
returning, so the switches between the full and the degraded decision are measured too); and
removed from a random half of the windows ("flapping": a lossy link that leaves the stream
usable in one window and not in the next, the hardest case for the sequence restarts). The
windows a scenario removes are the same for every set (seeded by the run). Each degraded cascade
runs its mode uncapped (the model is measured, not the policy) and feeds its own AlarmManager
(default configuration, ISO zone alarm off: the models' alarms only). Recorded per condition:
windows of the healthy runs decided not Normal and alarms raised on them (the gate: both must
be 0), anomalous windows there, accuracy / macro-F1 / confusion over all windows, per state S
the precision and recall of "at least S", and per fault run the delay from the first truly
PRE_WARNING window to the first not-Normal window and to the first alarm.

Whether a decision without the set may name the fault type (names_fault): only if, over
held-out windows truly not Normal and called not Normal, it named the fault right at least as
often as the all-input model minus CAP_TOLERANCE in every scenario; else its alarms say
"unknown" (one alarm that escalates, adopted by the fault's alarm once all inputs are back,
instead of one alarm per wrongly named fault that the degraded decision could never clear).

The cap (max_state) of a set: the worst state S such that, on the held-out windows it
called S or worse, the degraded decision was right ("truth at least S"; for PRE_WARNING also a
fault already there but still incipient: an early detection) at least as often as the
all-input model minus CAP_TOLERANCE, for S and every milder state, in every scenario; a
degraded output worse than the cap is reported at the cap (core/cascade.py). The gate itself
is applied at load time.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pm_monitor.core.alarms import AlarmConfig, AlarmManager
from pm_monitor.core.alarms.lifecycle import AlarmEvent
from pm_monitor.core.alarms.manager import ZONE_FAULT
from pm_monitor.core.cascade import Cascade
from pm_monitor.core.features import FeatureExtractor
from pm_monitor.core.model_set.degraded import (
    MEASURED_THROUGH,
    SET_SEPARATOR,
    degraded_modes,
    evidence_key,
)
from pm_monitor.core.model_set.rig import rig_cascade
from pm_monitor.core.models.bundle import ModelBundle, load_bundle, save_bundle_metadata
from pm_monitor.core.stages.contract import DegradedMode, modes_by_missing
from pm_monitor.core.sync.window import AnalysisWindow
from pm_monitor.core.types import ACCEL, MIC, NS_PER_S, THERMAL, HealthState
from pm_monitor.report import metrics
from pm_monitor.training.rig_dataset import generate_run
from pm_monitor.training.run_plan import RunSpec, plan_runs

MODALITIES = (ACCEL, MIC, THERMAL)  # the rig Stage 1's inputs
# what is measured missing: each input, and each pair (one modality left)
MISSING_SETS: tuple[tuple[str, ...], ...] = (
    *((m,) for m in MODALITIES), *itertools.combinations(MODALITIES, 2))
BLOCK_S = 20.0  # intermittent: present for BLOCK_S, missing for BLOCK_S, ...
FLAP_P = 0.5  # flapping: each window misses the modality with this probability
SCENARIOS = ("whole_run", "intermittent", "flapping")
CAP_TOLERANCE = 0.05
ALL_INPUTS = "all_inputs"
FRAME_EVERY = 10**9  # generate_run keeps no frames: only the windows are needed here


@dataclass
class _Run:
    name: str
    healthy: bool
    t_s: list[float] = field(default_factory=list)
    truth: list[int] = field(default_factory=list)
    incipient: list[bool] = field(default_factory=list)  # fault there, still below PRE_WARNING
    state: list[int] = field(default_factory=list)  # -1: no decision
    truth_fault: list[str] = field(default_factory=list)
    fault: list[str] = field(default_factory=list)  # the named fault type (uncapped decision)
    anomalous: list[bool] = field(default_factory=list)
    alarms_s: list[float] = field(default_factory=list)  # model alarms raised


class _Condition:
    """One cascade + alarm manager fed the held-out windows with a set of modalities removed
    (() = none), for the whole run, in alternate blocks or in a random half of the windows."""

    def __init__(self, bundle: ModelBundle, missing: tuple[str, ...] = (),
                 scenario: str = "whole_run") -> None:
        degraded = modes_by_missing(DegradedMode(missing)) if missing else {}
        self.cascade: Cascade = rig_cascade(bundle, localize=False, degraded=degraded)
        self.missing, self.scenario = missing, scenario
        self._rng = np.random.default_rng(0)
        self.runs: list[_Run] = []
        self._alarms: AlarmManager | None = None
        self._t0_ns = 0

    def start(self, spec: RunSpec) -> None:
        self.cascade.reset()
        self._alarms = AlarmManager("held_out", AlarmConfig(zone_alarm_enabled=False))
        self.runs.append(_Run(spec.name, not spec.schedule.faults))
        self._t0_ns = -1
        self._rng = np.random.default_rng(spec.seed)  # the same windows missing every time

    def __call__(self, window: AnalysisWindow, truth) -> None:
        if self._t0_ns < 0:
            self._t0_ns = window.t_end_ns - round(window.duration_s * NS_PER_S)
        t_s = (window.t_end_ns - self._t0_ns) / NS_PER_S
        if self.missing and self._drops(t_s):
            window = without(window, *self.missing)
        result = self.cascade.process(window)
        run = self.runs[-1]
        run.t_s.append(t_s)
        run.truth.append(int(truth.state))
        run.incipient.append(int(truth.state) == 0 and float(truth.severity) > 0.0)
        run.state.append(int(result.state) if result.decided else -1)
        run.truth_fault.append(str(truth.fault_type) if int(truth.state) > 0 else "none")
        run.fault.append(result.fault_type)
        run.anomalous.append(bool(result.anomalous))
        for update in self._alarms.update_result(result):
            if update.event == AlarmEvent.RAISED and update.fault_type != ZONE_FAULT:
                run.alarms_s.append(t_s)


    def _drops(self, t_s: float) -> bool:
        if self.scenario == "intermittent":
            return bool(int(t_s // BLOCK_S) % 2)
        if self.scenario == "flapping":
            return bool(self._rng.random() < FLAP_P)
        return True


def without(window: AnalysisWindow, *modalities: str) -> AnalysisWindow:
    """The window as the synchroniser delivers it when `modalities` never arrived."""
    return AnalysisWindow(window.t_end_ns, window.duration_s,
                          {k: v for k, v in window.streams.items() if k not in modalities},
                          {k: v for k, v in window.frames.items() if k not in modalities},
                          tuple(sorted({*window.missing, *modalities})))


class DegradedRecorder:
    """on_window callback for generate_run that feeds every condition; `start(spec)` before
    each run, `evidence()` after the last."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.conditions: dict[tuple[str, str], _Condition] = {
            (ALL_INPUTS, "whole_run"): _Condition(bundle)}
        for missing in MISSING_SETS:
            for scenario in SCENARIOS:
                self.conditions[(evidence_key(missing), scenario)] = _Condition(
                    bundle, missing, scenario)

    def start(self, spec: RunSpec) -> None:
        for condition in self.conditions.values():
            condition.start(spec)

    def __call__(self, window: AnalysisWindow, truth) -> None:
        for condition in self.conditions.values():
            condition(window, truth)

    def evidence(self) -> dict:
        """The bundle metadata's "degraded_evidence" (see module docstring)."""
        n_states = len(self.bundle.state_names)
        baseline = _measures(self.conditions[(ALL_INPUTS, "whole_run")].runs, n_states)
        out: dict = {
            "measured_through": MEASURED_THROUGH,
            "method": "pm_monitor.training.degraded_evidence: held-out rig runs through "
                      "Cascade.process and AlarmManager (default configuration, zone alarm "
                      f"off); intermittent = missing in alternate {BLOCK_S:g} s blocks; "
                      f"flapping = missing in a random {FLAP_P:.0%} of the windows; a set "
                      "'a+b' = both missing in the same windows",
            "runs": [r.name for r in self.conditions[(ALL_INPUTS, "whole_run")].runs],
            ALL_INPUTS: baseline,
            "without": {},
        }
        for key in (evidence_key(missing) for missing in MISSING_SETS):
            entry = {scenario: _measures(self.conditions[(key, scenario)].runs, n_states)
                     for scenario in SCENARIOS}
            entry["max_state"] = min(cap(entry[scenario], baseline)
                                     for scenario in SCENARIOS).label
            entry["names_fault"] = all(names_fault(entry[scenario], baseline)
                                       for scenario in SCENARIOS)
            entry["evidence"] = _one_line(entry, baseline)
            out["without"][key] = entry
        return out


def _measures(runs: list[_Run], n_states: int) -> dict:
    truth = np.concatenate([r.truth for r in runs])
    truth_fault = np.concatenate([r.truth_fault for r in runs])
    fault = np.concatenate([r.fault for r in runs])
    incipient = np.concatenate([r.incipient for r in runs]).astype(bool)
    state = np.concatenate([r.state for r in runs])
    decided = state >= 0
    confusion = metrics.confusion_matrix(truth[decided], state[decided], n_states)
    healthy = [r for r in runs if r.healthy]
    healthy_state = np.concatenate([r.state for r in healthy]) if healthy else np.zeros(0)
    at_least = {}
    for level in range(1, n_states):
        # a PRE_WARNING call on a fault still incipient is an early detection (as
        # evaluate.summarise counts it), not an over-call
        called, true = state >= level, (truth >= level) | (incipient & (level == 1))
        at_least[HealthState(level).label] = {
            "called_windows": int(called.sum()),
            "precision": float((called & true).sum() / called.sum()) if called.any() else None,
            "recall": float((called & true).sum() / true.sum()) if true.any() else None,
        }
    return {
        "windows": int(truth.size),
        "undecided_windows": int((~decided).sum()),
        "healthy_windows": int(healthy_state.size),
        "healthy_not_normal_windows": int((healthy_state > 0).sum()),
        "healthy_anomalous_windows": int(sum(np.sum(r.anomalous) for r in healthy)),
        "healthy_alarms": int(sum(len(r.alarms_s) for r in healthy)),
        "accuracy": metrics.accuracy(confusion),
        "macro_f1": metrics.macro_f1(confusion),
        "confusion": confusion.tolist(),
        "at_least": at_least,
        # fault type named right, over windows truly not Normal and called not Normal
        "fault_type_accuracy": _mean(fault[(truth > 0) & (state > 0)]
                                     == truth_fault[(truth > 0) & (state > 0)]),
        "detection_delay_s": _delays(runs),
    }


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _delays(runs: list[_Run]) -> dict:
    """Per fault run, s from the first truly PRE_WARNING window to the first not-Normal window
    ("stage1") and to the first model alarm ("alarm"); None: never; negative: while the fault
    was still incipient."""
    out = {}
    for r in runs:
        truth = np.asarray(r.truth)
        if r.healthy or not (truth > 0).any():
            continue
        t = np.asarray(r.t_s)
        onset = float(t[np.argmax(truth > 0)])
        called = np.asarray(r.state) > 0
        out[r.name] = {
            "stage1": float(t[np.argmax(called)] - onset) if called.any() else None,
            "alarm": float(r.alarms_s[0] - onset) if r.alarms_s else None,
        }
    return out


def cap(measured: dict, baseline: dict) -> HealthState:
    """The worst state a decision without the set may name (module docstring)."""
    allowed = HealthState.NORMAL
    for level in range(1, len(HealthState)):
        label = HealthState(level).label
        own = measured["at_least"][label]["precision"]
        reference = baseline["at_least"][label]["precision"]
        if own is None or (reference is not None and own < reference - CAP_TOLERANCE):
            break
        allowed = HealthState(level)
    return allowed


def names_fault(measured: dict, baseline: dict) -> bool:
    """May a decision without the set name the fault type? Only if it named it right about
    as often as the all-input model (within CAP_TOLERANCE); else the fault stays "unknown"."""
    own, reference = measured["fault_type_accuracy"], baseline["fault_type_accuracy"]
    return own is not None and (reference is None or own >= reference - CAP_TOLERANCE)


def _one_line(entry: dict, baseline: dict) -> str:
    whole = entry["whole_run"]
    false = sum(entry[s]["healthy_not_normal_windows"] for s in SCENARIOS)
    healthy = sum(entry[s]["healthy_windows"] for s in SCENARIOS)
    alarms = sum(entry[s]["healthy_alarms"] for s in SCENARIOS)

    def delays(measured: dict) -> str:
        values = [d["alarm"] for d in measured["detection_delay_s"].values()]
        found = [v for v in values if v is not None]
        span = f"{min(found):.1f} to {max(found):.1f} s" if found else "none"
        return f"{span} ({len(found)}/{len(values)} runs)"

    def accuracy(measured: dict) -> str:
        value = measured["fault_type_accuracy"]
        return "-" if value is None else f"{value:.2f}"

    return (f"held-out: {false}/{healthy} healthy windows not normal and {alarms} alarms "
            f"(whole run, intermittent, flapping), macro-F1 {whole['macro_f1']:.2f} "
            f"(all inputs {baseline['macro_f1']:.2f}), fault type right {accuracy(whole)} "
            f"(all inputs {accuracy(baseline)}), first alarm after onset "
            f"{delays(whole)} (all inputs {delays(baseline)})")


def measure(bundle: ModelBundle, specs: list[RunSpec],
            log: Callable[[str], None] = print) -> dict:
    """Simulate the held-out runs (the bundle's window, hop and thermal scale, as training
    generated its runs) and return their evidence (no file written)."""
    extractor = FeatureExtractor(bundle.feature_config)
    recorder = DegradedRecorder(bundle)
    for spec in specs:
        recorder.start(spec)
        generate_run(spec, extractor, bundle.window_s, bundle.hop_s, FRAME_EVERY,
                     bundle.thermal_scale_k, on_window=recorder)
        log(f"degraded evidence: {spec.name} done")
    return recorder.evidence()


def write_results(evidence: dict, directory: Path) -> None:
    """degraded_modalities.json / .md / .png beside the bundle's other held-out results."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "degraded_modalities.json").write_text(json.dumps(evidence, indent=1) + "\n")
    (directory / "degraded_modalities.md").write_text(table(evidence) + "\n")
    plot_confusions(evidence, directory / "degraded_modalities.png")


def plot_confusions(evidence: dict, path: Path) -> None:
    """Held-out window-state confusion with all inputs and without each set (whole run), the
    cap of each degraded mode in the title; one row per number of inputs missing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[list] = [[("all inputs", evidence[ALL_INPUTS], None)], []]
    for key, entry in evidence["without"].items():
        rows[min(key.count(SET_SEPARATOR), 1)].append(
            (f"without {key}", entry["whole_run"], _cap_label(evidence, key)))
    rows = [row for row in rows if row]
    names = [s.label for s in HealthState]
    width = max(len(row) for row in rows)
    fig, grid = plt.subplots(len(rows), width, figsize=(3.6 * width, 3.6 * len(rows)),
                             squeeze=False)
    for ax in grid.flat:
        ax.set_visible(False)
    axes = [grid[i, j] for i, row in enumerate(rows) for j in range(len(row))]
    for ax, (title, measured, cap_label) in zip(axes, [p for row in rows for p in row],
                                                strict=True):
        ax.set_visible(True)
        confusion = np.asarray(measured["confusion"])
        rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(names)), names, rotation=30, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_xlabel("predicted (uncapped)", fontsize=8)
        ax.set_title(f"{title}: F1 {measured['macro_f1']:.2f}"
                     + (f", {cap_label}" if cap_label else ""), fontsize=8)
    for i in range(len(rows)):
        grid[i, 0].set_ylabel("truth", fontsize=8)
    fig.suptitle("Rig Stage 1 through the cascade, held-out runs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cap_label(evidence: dict, key: str) -> str:
    """'cap warning' for a set the loader's gate enables, 'off (gate)' for one it refuses."""
    enabled = degraded_modes(evidence)[0]
    if frozenset(key.split(SET_SEPARATOR)) not in enabled:
        return "off (gate)"
    return f"cap {evidence['without'][key]['max_state']}"


def table(evidence: dict) -> str:
    lines = ["| condition | healthy windows not normal | healthy alarms | macro-F1 | "
             "fault type right | first alarm after onset per fault run (s) | mode | names "
             "the fault |", "|---|---|---|---|---|---|---|---|"]

    def row(name: str, measured: dict, cap_label: str, named: str) -> str:
        delays = ", ".join("-" if d["alarm"] is None else f"{d['alarm']:.1f}"
                           for d in measured["detection_delay_s"].values())
        accuracy = measured["fault_type_accuracy"]
        return (f"| {name} | {measured['healthy_not_normal_windows']}/"
                f"{measured['healthy_windows']} | {measured['healthy_alarms']} | "
                f"{measured['macro_f1']:.3f} | "
                f"{'-' if accuracy is None else f'{accuracy:.3f}'} | {delays} | {cap_label} | "
                f"{named} |")

    lines.append(row("all inputs", evidence[ALL_INPUTS], "-", "-"))
    for key, entry in evidence["without"].items():
        named = "yes" if entry["names_fault"] else "no"
        cap_label = _cap_label(evidence, key)
        lines.append(row(f"without {key}, whole run", entry["whole_run"], cap_label, named))
        lines.append(row(f"without {key}, intermittent ({BLOCK_S:g} s blocks)",
                         entry["intermittent"], cap_label, named))
        lines.append(row(f"without {key}, flapping ({FLAP_P:.0%} of windows)",
                         entry["flapping"], cap_label, named))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/rig_baseline"))
    parser.add_argument("--results", type=Path, default=Path("results/rig_baseline"))
    parser.add_argument("--quick", action="store_true", help="the quick plan's held-out runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    bundle = load_bundle(args.bundle)
    evidence = measure(bundle, plan_runs("test", args.quick),
                       lambda m: print(f"[{time.perf_counter() - start:6.1f} s] {m}", flush=True))
    bundle.degraded_evidence = evidence
    save_bundle_metadata(bundle, args.bundle)
    write_results(evidence, args.results)
    print(table(evidence))
    return evidence


if __name__ == "__main__":
    main()
