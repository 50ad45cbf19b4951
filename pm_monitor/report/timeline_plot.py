"""PNG timeline of a run: health state, anomaly score and RUL against the rig's ground truth."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on robots, CI or this machine
import matplotlib.pyplot as plt

from pm_monitor.core.types import HealthState
from pm_monitor.report.detection import (
    RAISED,
    AlertRecord,
    HealthSample,
    RulSample,
    TruthSample,
)


def plot_timeline(path: str | Path, truth: list[TruthSample], health: list[HealthSample],
                  alerts: list[AlertRecord], rul: list[RulSample], title: str = "") -> None:
    fig, (ax_state, ax_score, ax_rul) = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True)
    ax_state.step([s.t_s for s in truth], [s.state for s in truth], where="post", color="k",
                  lw=2.5, alpha=0.35, label="ground truth")
    ax_state.plot([h.t_s for h in health], [h.state for h in health], ".", ms=3,
                  color="tab:blue", label="monitor (per window)")
    for i, a in enumerate(x for x in alerts if x.event == RAISED):
        ax_state.axvline(a.t_s, color="tab:red", ls="--", lw=1,
                         label="alert raised" if i == 0 else None)
    ax_state.set_yticks([s.value for s in HealthState], [s.name for s in HealthState])
    ax_state.set_ylabel("health state")
    ax_state.legend(loc="upper left", fontsize=8)

    ax_score.plot([h.t_s for h in health], [h.anomaly_score for h in health], lw=1,
                  label="anomaly score")
    ax_score.plot([h.t_s for h in health], [h.anomaly_threshold for h in health], lw=1,
                  color="tab:orange", label="dynamic threshold")
    ax_score.set_yscale("log")
    ax_score.set_ylabel("reconstruction error")
    ax_score.legend(loc="upper left", fontsize=8)

    truth_rul = [(s.t_s, s.rul_s) for s in truth if s.rul_s is not None]
    if truth_rul:
        ax_rul.plot(*zip(*truth_rul, strict=True), color="k", lw=2, alpha=0.4, label="true RUL")
    if rul:
        t = [r.t_s for r in rul]
        ax_rul.fill_between(t, [r.lower_s for r in rul], [r.upper_s for r in rul],
                            color="tab:green", alpha=0.25, label="interval")
        ax_rul.plot(t, [r.rul_s for r in rul], color="tab:green", lw=1.2, label="estimated RUL")
    ax_rul.set_ylabel("remaining useful life (s)")
    ax_rul.set_xlabel("simulated time (s)")
    ax_rul.legend(loc="upper right", fontsize=8)
    # early estimates (before Stage 1 confirms) can be far off: keep the truth readable
    top = 2.5 * max((r for _, r in truth_rul), default=0.0)
    ax_rul.set_ylim(0, top if top > 0 else None)
    fig.suptitle(title or "pm_monitor run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
