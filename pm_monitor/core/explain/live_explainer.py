"""The explainer as the monitor node uses it: every window teaches the healthy background,
every alert is explained on a worker thread, the result comes back by callback.

    live = LiveExplainer(Explainer.from_bundle(bundle), on_explained, max_pending=4,
                         on_dropped=warn)
    live.observe(result, alert_active)             # every window (cheap)
    live.submit(result, alert_id, window.frames)   # after publishing the alert; never blocks
    ...
    def on_explained(done: ExplainedAlert): publish conversions.explanation_msg(
        done.explanation, done.result, done.alert_id, ...)   # on the worker thread
    live.close()                                   # cleanup / shutdown
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pm_monitor.core.explain.async_runner import AsyncExplainer, ExplanationDone, RunnerStats
from pm_monitor.core.explain.explainer import AlertExplanation, Explainer


@dataclass(frozen=True)
class ExplainedAlert:
    alert_id: str
    result: object  # the CascadeResult that was explained
    explanation: AlertExplanation | None  # None when explaining failed (see error)
    error: str
    computation_s: float
    waited_s: float


class LiveExplainer:
    def __init__(self, explainer: Explainer, on_explained: Callable[[ExplainedAlert], None],
                 max_pending: int = 4,
                 on_dropped: Callable[[str, int], None] | None = None) -> None:
        self.explainer = explainer
        self._on_explained = on_explained
        self._runner: AsyncExplainer = AsyncExplainer(self._explain, self._deliver,
                                                      max_pending, on_dropped)

    def observe(self, result, alert_active: bool = False) -> bool:
        """Offer a window to the healthy background (only Normal, not anomalous windows, and
        none while an alert is active: an incipient fault must not become "healthy")."""
        if alert_active:
            return False
        return self.explainer.background.observe(result)

    def submit(self, result, alert_id: str, frames: Mapping[str, object] | None = None) -> bool:
        """Queue the explanation of `result` for `alert_id`; False if the queue was full
        (counted in stats().dropped and reported to on_dropped)."""
        return self._runner.submit(alert_id, (result, dict(frames or {})))

    def stats(self) -> RunnerStats:
        return self._runner.stats()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        return self._runner.wait_idle(timeout_s)

    def close(self, timeout_s: float = 5.0, drain: bool = True) -> None:
        """drain=False throws queued explanations away (counted): for node shutdown."""
        self._runner.close(timeout_s, drain)

    def _explain(self, job: tuple) -> AlertExplanation:
        result, frames = job
        return self.explainer.explain(result, frames)

    def _deliver(self, done: ExplanationDone) -> None:
        result, _ = done.request
        self._on_explained(ExplainedAlert(done.alert_id, result, done.result, done.error,
                                          done.computation_s, done.waited_s))
