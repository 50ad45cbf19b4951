"""The figure of counterfactual_eval: reach rate per setting and state, and reach vs size."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

STATES = ("pre_warning", "warning", "failure")
COLOURS = {"pre_warning": "#f2c14e", "warning": "#f08a24", "failure": "#d62728"}


def plot_reach(rows: dict[str, dict], chosen: str, path: Path) -> Path:
    """Left: reach rate per setting, overall and per predicted state. Right: reach rate vs
    the median number of features changed where Normal was reached."""
    names = list(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True,
                                      gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(names))
    height = 0.2
    left.barh(y - 1.5 * height, [rows[n]["reach_rate"] for n in names], height,
              color="#1f77b4", label="all not-Normal windows")
    for k, state in enumerate(STATES):
        left.barh(y + (k - 0.5) * height,
                  [rows[n]["reach_rate_by_state"].get(state, 0.0) for n in names], height,
                  color=COLOURS[state], label=f"predicted {state}")
    left.set_yticks(y, [f"{n} (chosen)" if n == chosen else n for n in names], fontsize=8)
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.set_xlabel("fraction of windows where Normal was reached")
    left.set_title("Counterfactual reach rate, validation runs")
    left.legend(fontsize=8, loc="upper right")
    left.grid(axis="x", alpha=0.3)
    # several settings share a point: a legend (colour + marker) instead of text labels
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))
    markers = "osD^v<>P"
    for i, n in enumerate(names):
        right.scatter(rows[n]["changed_features_median_reached"] or 0.0, rows[n]["reach_rate"],
                      s=120 if n == chosen else 40,
                      color="#d62728" if n == chosen else colours[i % 20],
                      marker=markers[i % len(markers)], alpha=0.85,
                      edgecolors="black" if n == chosen else "none",
                      label=f"{n} (chosen)" if n == chosen else n)
    right.legend(fontsize=6, loc="lower right", ncol=1)
    right.set_xlabel("features changed (median where Normal was reached)", fontsize=9)
    right.set_ylabel("reach rate")
    right.set_ylim(0, 1)
    right.set_title("Reach vs size of the change")
    right.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
