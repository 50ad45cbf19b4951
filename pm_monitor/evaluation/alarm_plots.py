"""PNG timeline of one stream: model state and truth, what each alarm policy shows, ISO zone."""
from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.core.alarms.severity_zones import ZoneTable
from pm_monitor.core.types import HealthState
from pm_monitor.evaluation.alarm_metrics import PolicyRun
from pm_monitor.evaluation.alarm_streams import WindowStream

ZONE_COLOURS = ("#d8f0d8", "#f3f3c8", "#f8dcb4", "#f4c0c0")


def plot_alarm_timeline(path: str | Path, stream: WindowStream, runs: list[PolicyRun],
                        zone_table: ZoneTable, time_unit_s: float = 1.0,
                        time_label: str = "time (s)") -> None:
    t = stream.t_s / time_unit_s
    fig, axes = plt.subplots(2 + len(runs), 1, figsize=(12, 2.0 * (2 + len(runs)) + 0.6),
                             sharex=True, gridspec_kw={"height_ratios": [1.4] + [1] * len(runs)
                                                       + [1.3]})
    ax = axes[0]
    if (stream.truth_state >= 0).any():
        ax.step(t, stream.truth_state, where="post", color="k", lw=2.5, alpha=0.35,
                label="ground truth")
    ax.plot(t, stream.state, ".", ms=2.5, color="tab:blue", label="model state (per window)")
    flagged = stream.abnormal & (stream.state == 0)
    ax.plot(t[flagged], np.full(flagged.sum(), 0.35), "|", ms=6, color="tab:purple",
            label="anomaly score above threshold, state NORMAL")
    ax.set_yticks([s.value for s in HealthState], [s.name for s in HealthState], fontsize=8)
    ax.set_ylim(-0.3, 3.4)
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    ax.set_title(f"{stream.name}: {stream.description}", fontsize=9)

    for ax, run in zip(axes[1:-1], runs, strict=True):
        shown = run.active.astype(float)
        ax.fill_between(t, -0.5, np.where(shown >= 0, shown, np.nan), step="post",
                        color="tab:red", alpha=0.35, lw=0)
        for r in run.raise_t:
            ax.axvline(r / time_unit_s, color="tab:red", lw=0.6, alpha=0.7)
        if run.zone_active is not None and (run.zone_active >= 0).any():
            zone = run.zone_active.astype(float)
            ax.step(t, np.where(zone >= 0, zone + 0.08, np.nan), where="post",
                    color="tab:orange", lw=2, label="ISO zone alarm")
            ax.legend(loc="center left", fontsize=7)
        ax.set_ylim(-0.6, 3.4)
        ax.set_yticks([0, 1, 2, 3], ["N/anom.", "PRE", "WARN", "FAIL"], fontsize=7)
        ax.text(0.005, 0.93, f"{run.policy}: {len(run.raise_t)} alerts raised, "
                f"{len(run.clear_t)} cleared, {run.messages} messages"
                + (f", {run.suppressed} suppressed" if run.suppressed else ""),
                transform=ax.transAxes, fontsize=8, va="top",
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})

    ax = axes[-1]
    bounds = (0.0, *zone_table.boundaries_mm_s)
    finite = stream.velocity_mm_s[np.isfinite(stream.velocity_mm_s)]
    # a few-snapshot spike must not flatten the rest: scale to the 99.5th percentile
    top = max(bounds[-1] * 1.3, float(np.percentile(finite, 99.5)) * 1.2 if finite.size
              else 1.0)
    clipped = int(np.sum(finite > top))
    edges = (*bounds, top)
    for (low, high), colour, name in zip(pairwise(edges), ZONE_COLOURS, "ABCD", strict=True):
        ax.axhspan(low, high, color=colour, lw=0)
        ax.text(1.002, (low + high) / 2 / top, name, transform=ax.transAxes, fontsize=8,
                va="center")
    ax.plot(t, stream.velocity_mm_s, lw=0.9, color="k")
    ax.set_ylim(0, top)
    ax.set_ylabel("velocity RMS\n(mm/s)", fontsize=8)
    ax.text(0.005, 0.93, f"ISO zone ({zone_table.source})"
            + (f"; {clipped} windows above the axis" if clipped else ""),
            transform=ax.transAxes, fontsize=8, va="top")
    for marker, label in ((stream.onset_s, "fault onset"), (stream.end_s, "failure / end")):
        if np.isfinite(marker):
            for a in axes:
                a.axvline(marker / time_unit_s, color="tab:green", ls="--", lw=1)
            axes[-1].text(marker / time_unit_s, 0.04 * top, f"{label} ", fontsize=7,
                          color="tab:green", ha="right")
    ax.set_xlabel(time_label)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
