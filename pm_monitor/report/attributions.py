"""The report's Shapley panel: signed Shapley values of the Stage 1 decisions per sensor and
per modality over the run's explanations (mean, bar = min..max)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.report.run_data import RunData

DPI = 90


def shapley_figure(run: RunData, path: Path) -> Path | None:
    """None when no explanation carries Shapley values (older recordings)."""
    rows = [e for e in run.explanations if e.shapley_sensors]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for ax, attribute, title in ((axes[0], "shapley_sensors", "per sensor"),
                                 (axes[1], "shapley_modalities", "per modality")):
        names = sorted({n for e in rows for n in getattr(e, attribute)})
        values = np.array([[getattr(e, attribute).get(n, 0.0) for n in names] for e in rows])
        mean = values.mean(axis=0)
        order = np.argsort(mean)
        y = np.arange(len(names))
        ax.barh(y, mean[order], color=np.where(mean[order] >= 0, "#d62728", "#2ca02c"),
                xerr=[np.maximum(mean[order] - values.min(axis=0)[order], 0.0),
                      np.maximum(values.max(axis=0)[order] - mean[order], 0.0)],
                error_kw={"ecolor": "#555555", "capsize": 3})
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_yticks(y, [names[i] for i in order])
        ax.set_xlabel("Shapley value of the explained state's logit\n"
                      "(> 0 pushed towards it; mean, bar = min..max)")
        ax.set_title(f"Shapley {title} ({len(rows)} explanations)")
        ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def top_shapley_sensor(shapley_sensors: dict[str, float]) -> str:
    """'accel_x (+0.84)': the sensor with the largest |phi|, or '' without values."""
    if not shapley_sensors:
        return ""
    sensor = max(shapley_sensors, key=lambda s: abs(shapley_sensors[s]))
    return f"{sensor} ({shapley_sensors[sensor]:+.2f})"
