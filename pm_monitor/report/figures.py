"""The report's pictures (matplotlib, Agg): timeline, sensor importance, heatmap thumbnails."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from pm_monitor.report.run_data import STATE_NAMES, RunData

# Same traffic-light colours as the RViz markers.
STATE_COLOURS = ("#2ca02c", "#e6c200", "#ff7f0e", "#d62728")
DPI = 110


def timeline(run: RunData, path: Path) -> Path:
    """Health state, anomaly score with its dynamic threshold, RUL with its interval; alert
    events as vertical lines; the rig's ground truth dashed where it was recorded."""
    fig, (ax_state, ax_score, ax_rul) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, constrained_layout=True,
        gridspec_kw={"height_ratios": [1, 1.3, 1.3]})
    t = np.array([p.t_s for p in run.health])
    if run.health:
        states = np.array([p.state for p in run.health])
        ax_state.step(t, states, where="post", color="#333333", lw=1.2, label="monitor")
        ax_state.scatter(t, states, c=[STATE_COLOURS[s] for s in states], s=12, zorder=3)
    if run.truth:
        ax_state.step([p.t_s for p in run.truth], [p.state for p in run.truth], where="post",
                      color="#1f77b4", ls="--", lw=1.2, label="rig ground truth")
    ax_state.set_yticks(range(4), STATE_NAMES)
    ax_state.set_ylim(-0.4, 3.4)
    ax_state.set_ylabel("health state")
    ax_state.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)

    if run.health:
        score = np.array([p.anomaly_score for p in run.health])
        threshold = np.array([p.anomaly_threshold for p in run.health])
        anomalous = np.array([p.anomaly_score > p.anomaly_threshold for p in run.health])
        ax_score.plot(t, score, color="#1f77b4", lw=1.2, label="anomaly score")
        ax_score.plot(t, threshold, color="#d62728", ls="--", lw=1.2,
                      label="dynamic threshold")
        ax_score.scatter(t[anomalous], score[anomalous], color="#d62728", s=10, zorder=3,
                         label="above threshold")
        # scores span decades between healthy and failing: symmetric log keeps both readable
        # (and copes with a score of exactly 0, which a log axis would drop)
        positive = np.concatenate([score[score > 0], threshold[threshold > 0]])
        if positive.size and positive.max() / max(positive.min(), 1e-12) > 50:
            ax_score.set_yscale("symlog", linthresh=float(max(positive.min(), 1e-4)))
    ax_score.set_ylabel("anomaly score")
    ax_score.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)

    if run.rul:
        rt = np.array([p.t_s for p in run.rul])
        ax_rul.fill_between(rt, [p.lower_s for p in run.rul], [p.upper_s for p in run.rul],
                            color="#ff7f0e", alpha=0.25, step="post", label="interval")
        ax_rul.step(rt, [p.rul_s for p in run.rul], where="post", color="#ff7f0e", lw=1.4,
                    label="RUL estimate")
    truth_rul = [(p.t_s, p.rul_s) for p in run.truth if p.rul_s is not None]
    if truth_rul:
        ax_rul.plot(*zip(*truth_rul, strict=True), color="#1f77b4", ls="--", lw=1.2,
                    label="true RUL")
    if not run.rul and not truth_rul:
        ax_rul.text(0.5, 0.5, "no RUL estimate in this run", transform=ax_rul.transAxes,
                    ha="center", va="center", color="#777777")
    ax_rul.set_ylim(0, _rul_axis_top(run, truth_rul, ax_rul))
    ax_rul.set_ylabel("remaining useful life (s)")
    ax_rul.set_xlabel("time since start of run (s)")
    ax_rul.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)

    times = [p.t_s for p in run.health] + [a.t_s for a in run.alerts]
    start, end = min(times, default=0.0), max(times, default=1.0)
    last_x, level = -np.inf, 0
    for alert in run.alerts:
        if alert.event in ("raised", "escalated", "cleared"):
            colour = "#2ca02c" if alert.event == "cleared" else STATE_COLOURS[alert.state]
            for ax in (ax_state, ax_score, ax_rul):
                ax.axvline(alert.t_s, color=colour, lw=1.0, alpha=0.8)
            # an alert raised while Stage 1 still says Normal was raised by the anomaly score
            what = "anomaly" if alert.state == 0 else STATE_NAMES[alert.state]
            if alert.event == "cleared":
                what = ""
            # labels of close events step down instead of overwriting each other
            level = (level + 1) % 3 if alert.t_s - last_x < 0.12 * (end - start) else 0
            last_x = alert.t_s
            near_end = alert.t_s > start + 0.88 * (end - start)
            ax_state.annotate(f"alert {alert.event}" + (f"\n{what}" if what else ""),
                              (alert.t_s, 3.35 - 0.75 * level), fontsize=7,
                              ha="right" if near_end else "left", va="top",
                              xytext=(-2 if near_end else 2, 0), textcoords="offset points",
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                    "alpha": 0.6})
    for ax in (ax_state, ax_score, ax_rul):
        ax.grid(alpha=0.3)
    fig.suptitle("Health state, anomaly score and remaining useful life")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _rul_axis_top(run: RunData, truth_rul: list[tuple[float, float]], ax) -> float:
    """Early estimates can be hours off with huge intervals; they must not flatten the rest.
    With ground truth the axis ends at 1.5 x the largest true RUL, else at 3 x the median
    estimate; how many intervals reach above is said on the plot."""
    estimates = [p.rul_s for p in run.rul]
    if truth_rul:
        top = 1.5 * max(r for _, r in truth_rul)
    elif estimates:
        top = 3.0 * float(np.median(estimates))
    else:
        top = 1.0
    top = max(top, 1.0)
    above = sum(p.upper_s > top for p in run.rul)
    if run.rul and above > len(run.rul) // 2:
        # most estimates are far off: a log axis shows them and the truth together
        ax.set_yscale("symlog", linthresh=max(1.0, top / 10))
        ax.text(0.01, 0.97, "log scale: most estimates lie far above the linear range",
                transform=ax.transAxes, ha="left", va="top", fontsize=8, color="#b35900")
        return 1.5 * max(p.upper_s for p in run.rul)
    if above:
        ax.text(0.01, 0.97, f"{above} of {len(run.rul)} intervals reach above {top:.0f} s "
                f"(clipped)", transform=ax.transAxes, ha="left", va="top", fontsize=8,
                color="#b35900")
    return top


def importance(run: RunData, path: Path) -> Path | None:
    """Mean share (with min-max range) of each sensor and modality over the explanations."""
    if not run.explanations:
        return None
    fig, (ax_s, ax_m) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    # a fusion gate's weights are not attribution shares: never average the two kinds
    gated = [e for e in run.explanations if e.modality_weights_method == "fusion_gate"]
    for ax, attribute, title, rows in (
            (ax_s, "sensor_importance", "per sensor", run.explanations),
            (ax_m, "modality_weights", "per modality", gated or run.explanations)):
        names = sorted({n for e in rows for n in getattr(e, attribute)})
        values = np.array([[getattr(e, attribute).get(n, 0.0) for n in names] for e in rows])
        mean = values.mean(axis=0)
        order = np.argsort(mean)
        y = np.arange(len(names))
        # clipped at 0: for equal values the mean can exceed the max by a rounding error
        ax.barh(y, mean[order], color="#1f77b4",
                xerr=[np.maximum(mean[order] - values.min(axis=0)[order], 0.0),
                      np.maximum(values.max(axis=0)[order] - mean[order], 0.0)],
                error_kw={"ecolor": "#555555", "capsize": 3})
        ax.set_yticks(y, [names[i] for i in order])
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the attribution (mean, bar = min..max)")
        ax.set_title(f"Importance {title} ({len(rows)} explanations)")
        ax.grid(axis="x", alpha=0.3)
        if attribute == "modality_weights" and gated:
            _fusion_gate_overlay(ax, gated, [names[i] for i in order])
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _fusion_gate_overlay(ax, gated: list, names: list[str]) -> None:
    """The modality panel when a fusion gate gave the weights ([P1]): its title, the ideal
    weight g* of each modality as a black tick and the last running modality bias B."""
    ax.set_title(f"Fusion gate weight per modality ({len(gated)} explanations)")
    label = "gate weight (mean, bar = min..max); black | = ideal g*"
    last = next((e for e in reversed(gated) if e.modality_bias), None)
    if last is not None:
        bias = ", ".join(f"{m} {b:+.2f}" for m, b in last.modality_bias.items())
        label += f"\nbias B = E[g] - g*: {bias} ({last.modality_bias_decisions} decisions)"
    ax.set_xlabel(label)
    ideal = next((e.modality_ideal_weights for e in reversed(gated)
                  if e.modality_ideal_weights), {})
    for y, name in enumerate(names):
        if name in ideal:
            ax.plot([ideal[name]] * 2, [y - 0.4, y + 0.4], color="black", lw=2)


def heatmap_thumbnails(run: RunData, path: Path, count: int = 8) -> Path | None:
    """Up to `count` heatmaps spread evenly over the run, each titled with its time."""
    if not run.heatmaps:
        return None
    picks = np.unique(np.linspace(0, len(run.heatmaps) - 1, min(count, len(run.heatmaps)))
                      .round().astype(int))
    cols = min(4, len(picks))
    rows = int(np.ceil(len(picks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows),
                             constrained_layout=True, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, index in zip(axes.ravel(), picks, strict=False):
        t_s, rgb = run.heatmaps[index]
        ax.imshow(rgb, interpolation="nearest")
        ax.set_title(f"t = {t_s:.1f} s", fontsize=9)
    fig.suptitle("Heatmaps: Grad-CAM over the frame (jet: red = strongest evidence), "
                 "cross = hotspot, box = region", fontsize=10)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
