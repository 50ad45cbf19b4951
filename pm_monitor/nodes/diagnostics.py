"""/diagnostics of the monitor from the pipeline's counters (diagnostic_updater is not on PyPI).

One status per input (rate, staleness, gaps, rejected messages with the last reason), one for
the synchroniser (windows, drops, frame spread), one for inference (latency, backend), one for
the models (versions) and one for the alarms (active, unacknowledged, shelved, held back by
flood control, alert log, explanations). Levels follow what an operator must do: OK, WARN
(look: an input rejects messages or went quiet, windows were dropped), ERROR (act: an input
silent for long, the models fail). Messages say which input and why, e.g. "thermal: stale for
12.3 s".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from pm_monitor.core.pipeline import PipelineStats

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


def log_rul_state(logger, estimator) -> None:
    """Say once, at start-up, what a RUL estimator (core/rul/live.py) resumed from: ERROR for a
    refused state (nothing valid until reset), WARN for a state of another RUL model (a model
    update: the asset's history kept, its damage recomputed), INFO otherwise."""
    status = estimator.state_status
    if estimator.state_refused:
        logger.error(f"RUL state {status}")
    elif estimator.model_change is not None:
        logger.warn(f"RUL state {status}")
    else:
        logger.info(f"RUL state: {status}")


@dataclass(frozen=True)
class Status:
    """One diagnostic status before it becomes a message (what the tests look at)."""

    name: str
    level: bytes
    message: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class _InputMemory:
    received: int = 0
    rejected: int = 0
    gaps: int = 0
    last_progress_ns: int = 0


def _kv(values: dict[str, object]) -> list[KeyValue]:
    return [KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v))
            for k, v in values.items()]


class DiagnosticsReporter:
    """Turns the pipeline's counters into statuses, comparing each report with the last one
    (rates, new rejections, new gaps, new drops). Time is the node's clock (sim time when
    use_sim_time), passed in as now_ns."""

    def __init__(self, node_name: str, hardware_id: str, inputs: list[str], now_ns: int,
                 warn_after_s: float = 2.0, error_after_s: float = 30.0,
                 latency_budget_ms: float = 500.0, unused: tuple[str, ...] = ()) -> None:
        """warn_after_s / error_after_s: silence before an input is WARN / ERROR.
        latency_budget_ms: a p99 latency above this cannot keep up (the hop).
        unused: inputs the loaded models do not take (e.g. the accelerometer of an asset
        watched by sound alone): their silence is expected (OK), rejections still warn."""
        self.node_name = node_name
        self.hardware_id = hardware_id
        self.inputs = inputs
        self.unused = frozenset(unused)
        self.warn_after_s = warn_after_s
        self.error_after_s = error_after_s
        self.latency_budget_ms = latency_budget_ms
        self._memory = {name: _InputMemory(last_progress_ns=now_ns) for name in inputs}
        self._last_ns = now_ns
        self._last_sync: dict[str, object] = {}
        self._last_failures = 0

    def restart(self, now_ns: int) -> None:
        """Forget silence accumulated while not subscribed (on activate)."""
        for memory in self._memory.values():
            memory.last_progress_ns = now_ns
        self._last_ns = now_ns

    def statuses(self, stats: PipelineStats, sync: dict[str, object],
                 models: dict[str, str], now_ns: int, active: bool = True,
                 alarms: dict[str, object] | None = None,
                 publishers: dict[str, list[str]] | None = None) -> list[Status]:
        """publishers: input -> who publishes on its topic (one entry per publisher)."""
        period_s = max((now_ns - self._last_ns) / 1e9, 1e-9)
        out = [self._one_publisher(self._input(name, stats, sync, now_ns, period_s, active),
                                   name, (publishers or {}).get(name, []))
               for name in self.inputs]
        out.append(self._synchroniser(sync))
        if "clock_level" in sync:
            out.append(self._clocks(sync))
        out.append(self._inference(stats, models.get("backend", "")))
        out.append(self._models(models, active))
        if alarms is not None:
            out.append(self._alarms(alarms))
        self._last_ns = now_ns
        return out

    @staticmethod
    def _models(models: dict[str, object], active: bool) -> Status:
        """WARN while a stored RUL state was refused (`rul_state`, core/rul/state.py: the
        RUL estimates are not valid until the asset is reset or the file is fixed), a model
        change left the asset's condition-based estimates not valid, or the state could not
        be saved (a restart would lose it)."""
        message = f"{models.get('model_version', 'unknown')}" + ("" if active
                                                                 else " (node inactive)")
        rul_state = str(models.get("rul_state", ""))
        if (rul_state.startswith("refused") or "last save failed" in rul_state
                or "estimates not valid" in rul_state):
            return Status("models", WARN, f"RUL state {rul_state}; {message}", dict(models))
        return Status("models", OK, message, dict(models))

    @staticmethod
    def _one_publisher(status: Status, name: str, publishers: list[str]) -> Status:
        """ERROR when an input has more than one publisher: one stream's sample indices and
        stamps cannot be followed through another's (every switch reads as a gap, a reset or
        time going back), so the data of that input is not what any single sensor measured."""
        values = {**status.values, "publishers": len(publishers)}
        if len(publishers) <= 1:
            return Status(status.name, status.level, status.message, values)
        values.update({f"publisher_{i}": who for i, who in enumerate(publishers)})
        return Status(status.name, ERROR,
                      f"{name}: {len(publishers)} publishers on one input, their streams "
                      f"interleave: {'; '.join(publishers)}", values)

    @staticmethod
    def _alarms(values: dict[str, object]) -> Status:
        """WARN while flood control holds alarms back or explanations are dropped: an
        operator is not seeing everything (nothing is lost: the alert log has all of it)."""
        message = (f"{values.get('alarms_active', 0)} active, "
                   f"{values.get('alarms_unacknowledged', 0)} unacknowledged, "
                   f"{values.get('alarms_shelved', 0)} shelved")
        level = OK
        held = int(values.get("alarms_suppressed_now", 0))
        dropped = int(values.get("explanations_dropped", 0))
        if held > 0:
            level, message = WARN, f"flood control holds back {held} alarm(s); {message}"
        elif dropped > 0:
            level, message = WARN, f"{dropped} explanation(s) dropped (queue full); {message}"
        return Status("alarms", level, message, dict(values))

    def build(self, stats: PipelineStats, sync: dict[str, object], models: dict[str, str],
              now_ns: int, stamp, active: bool = True,
              alarms: dict[str, object] | None = None,
              publishers: dict[str, list[str]] | None = None) -> DiagnosticArray:
        array = DiagnosticArray()
        array.header.stamp = stamp
        array.status = [DiagnosticStatus(level=s.level, name=f"{self.node_name}: {s.name}",
                                         message=s.message, hardware_id=self.hardware_id,
                                         values=_kv(s.values))
                        for s in self.statuses(stats, sync, models, now_ns, active, alarms,
                                               publishers)]
        return array

    # ------------------------------------------------------------------ per status

    def _input(self, name: str, stats: PipelineStats, sync: dict[str, object], now_ns: int,
               period_s: float, active: bool) -> Status:
        s = stats.inputs.get(name)
        memory = self._memory[name]
        received = s.received if s else 0
        rejected = s.rejected if s else 0
        gaps = int(sync.get(f"{name}_gaps", 0))
        if received != memory.received:
            memory.last_progress_ns = now_ns
        rate_hz = (received - memory.received) / period_s
        new_rejected, new_gaps = rejected - memory.rejected, gaps - memory.gaps
        memory.received, memory.rejected, memory.gaps = received, rejected, gaps
        silent_s = (now_ns - memory.last_progress_ns) / 1e9
        values: dict[str, object] = {
            "received": received, "rejected": rejected, "rate_hz": rate_hz,
            "silent_s": silent_s, "last_rejection": s.last_error if s else "",
            "second_source_refused": s.foreign if s else 0,
            "following_frame_id": s.source_frame_id if s else ""}
        for key in ("gaps", "duplicates", "out_of_order", "resets"):
            if f"{name}_{key}" in sync:
                values[key] = sync[f"{name}_{key}"]
        level, message = OK, f"{name}: {rate_hz:.1f} msg/s"
        if name in self.unused:
            message = f"{name}: not an input of the loaded models ({rate_hz:.1f} msg/s)"
            silent_s = 0.0  # nothing is waited for on it
        if not active:
            message = f"{name}: not subscribed (node inactive)"
        elif silent_s > self.error_after_s:
            level, message = ERROR, f"{name}: {self._silence(received, silent_s)}"
        elif new_rejected > 0 and s is not None:
            level, message = WARN, f"{name}: rejected {new_rejected}: {s.last_error}"
        elif silent_s > self.warn_after_s:
            level, message = WARN, (f"{name}: {self._silence(received, silent_s)}; "
                                    "windows go on without it")
        elif new_gaps > 0:
            level, message = WARN, f"{name}: {new_gaps} gap(s) in the sample index (lost data)"
        return Status(f"input {name}", level, message, values)

    @staticmethod
    def _silence(received: int, silent_s: float) -> str:
        return f"stale for {silent_s:.1f} s" if received else f"no message for {silent_s:.1f} s"

    def _synchroniser(self, sync: dict[str, object]) -> Status:
        """Windows dropped are windows that had data but could not be decided (a required
        input missing); stretches of stream time without any data are not windows and are
        reported as time, so the counter never exceeds what actually arrived."""
        last = self._last_sync
        new_dropped = int(sync.get("windows_dropped", 0)) - int(last.get("windows_dropped", 0))
        new_no_data = float(sync.get("no_data_s", 0.0)) - float(last.get("no_data_s", 0.0))
        new_resets = int(sync.get("resets", 0)) - int(last.get("resets", 0))
        self._last_sync = dict(sync)
        summary = (f"{sync.get('windows_emitted', 0)} windows, {sync.get('windows_dropped', 0)} "
                   f"dropped, {sync.get('windows_with_missing', 0)} with a modality missing, "
                   f"{float(sync.get('no_data_s', 0.0)):.1f} s without any data, frame spread "
                   f"{float(sync.get('frame_spread_mean_ms', 0.0)):.1f} ms mean")
        level = OK
        starving = str(sync.get("inputs_all_dropped", ""))
        if starving:
            level, summary = WARN, (f"everything dropped from {starving} (see ~/sync_drops); "
                                    f"{summary}")
        elif new_dropped > 0:
            level, summary = WARN, (f"dropped {new_dropped} window(s): a required input was "
                                    f"missing; {summary}")
        elif new_no_data > 0:
            level, summary = WARN, f"{new_no_data:.1f} s without any input data; {summary}"
        elif new_resets > 0:
            level, summary = WARN, (f"time jumped back (bag loop or restart): reset "
                                    f"{new_resets}x; {summary}")
        return Status("synchroniser", level, summary, dict(sync))

    @staticmethod
    def _clocks(sync: dict[str, object]) -> Status:
        """ERROR when an input's clock offset beyond what the windows tolerate is not
        corrected (out of the search range, or correction off)."""
        level = ERROR if sync.get("clock_level") == "error" else OK
        values = {k: v for k, v in sync.items() if k.startswith("clock_")}
        return Status("clock offsets", level, str(sync.get("clock_message", "")), values)

    def _inference(self, stats: PipelineStats, backend: str) -> Status:
        inference = stats.inference
        p99 = inference.latency_ms_p99()
        values: dict[str, object] = {
            "windows": inference.windows, "stage2_runs": inference.stage2_runs,
            "latency_ms_mean": inference.latency_ms_mean,
            "latency_ms_p99_recent": p99, "latency_ms_max": inference.latency_ms_max,
            "failures": inference.failures, "rul_failures": inference.rul_failures,
            "last_failure": inference.last_failure, "backend": backend}
        failures = inference.failures + inference.rul_failures
        new_failures = failures - self._last_failures
        self._last_failures = failures
        level, message = OK, (f"{inference.windows} windows, p99 {p99:.1f} ms "
                              f"({backend or 'unknown backend'})")
        if new_failures > 0:
            level, message = ERROR, (f"{new_failures} window(s) failed: "
                                     f"{inference.last_failure}")
        elif p99 > self.latency_budget_ms:
            level, message = WARN, (f"p99 latency {p99:.0f} ms exceeds the "
                                    f"{self.latency_budget_ms:.0f} ms hop: falling behind")
        return Status("inference", level, message, values)
