"""The RUL timeline of a run: the population-prior part, the detected degradation onset and
the condition-based part of the valid estimates, each with its interval, against the true
remaining life; the health index below. Also the errors and interval coverage per evidence
kind. Estimates are RulEstimate messages as dicts (nodes/conversions.message_to_dict) plus
`t_s`, the time of the run's axis; used by the FEMTO demo (rul_node) and the recorder (the
monitor's own ~/rul in the rig demo)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

EVIDENCE_STYLE = {"population_prior": ("tab:gray", "population prior"),
                  "condition_based": ("tab:red", "condition-based")}
UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}


def _errors(estimates: list[dict], life_s: float) -> dict:
    t = np.array([e["t_s"] for e in estimates])
    truth = np.maximum(life_s - t, 0.0)
    rul, low, high = (np.array([e[k] for e in estimates])
                      for k in ("rul_s", "rul_lower_s", "rul_upper_s"))
    return {"estimates": len(estimates),
            "mae_s": float(np.mean(np.abs(rul - truth))),
            "mae_normalised": float(np.mean(np.abs(rul - truth)) / life_s),
            "interval_coverage": float(np.mean((low <= truth) & (truth <= high)))}


def onset_time(estimates: list[dict]) -> float | None:
    """The onset on the run's time axis (estimates carry it in operating time)."""
    for e in estimates:
        if e.get("onset_detected"):
            return float(e["t_s"] - e.get("elapsed_s", e["t_s"]) + e["onset_elapsed_s"])
    return None


def summarise(estimates: list[dict], life_s: float) -> dict:
    """Errors of the valid estimates (before the failure) against the time left to life_s."""
    valid = [e for e in estimates if e["valid"] and e["t_s"] <= life_s]
    summary = {"estimates": len(estimates), "valid_estimates": len(valid), "life_s": life_s}
    onset = onset_time(estimates)
    summary["onset_s"] = onset
    summary["onset_life_fraction"] = onset / life_s if onset is not None else None
    if valid:
        summary.update({k: v for k, v in _errors(valid, life_s).items() if k != "estimates"})
        summary["first_valid_at_life_fraction"] = float(valid[0]["t_s"] / life_s)
        summary["nominal_coverage"] = float(valid[0]["interval_coverage"])
        summary["point_kind"] = valid[0].get("point_kind", "")
        summary["by_evidence"] = {
            kind: _errors([e for e in valid if e.get("evidence_kind") == kind], life_s)
            for kind in EVIDENCE_STYLE
            if any(e.get("evidence_kind") == kind for e in valid)}
    return summary


def plot(estimates: list[dict], life_s: float, title: str, path: Path, unit: str = "h",
         time_label: str = "operating time") -> None:
    scale = UNITS[unit]
    fig, (ax_rul, ax_hi) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                                        gridspec_kw={"height_ratios": [3, 1]})
    t_all = np.array([e["t_s"] for e in estimates]) / scale
    ax_rul.plot([0, life_s / scale], [life_s / scale, 0], "k--", label="true RUL")
    for kind, (colour, label) in EVIDENCE_STYLE.items():
        part = [e for e in estimates if e["valid"] and e.get("evidence_kind") == kind]
        if not part:
            continue
        t = np.array([e["t_s"] for e in part]) / scale
        rul, low, high = (np.array([e[k] for e in part]) / scale
                          for k in ("rul_s", "rul_lower_s", "rul_upper_s"))
        ax_rul.fill_between(t, low, high, color=colour, alpha=0.15, step="mid",
                            label=f"{label}: {part[0]['interval_coverage']:.0%} interval")
        ax_rul.plot(t, rul, ".", color=colour, ms=3,
                    label=f"{label}: {part[0].get('point_kind') or 'point'}")
    onset = onset_time(estimates)
    if onset is not None:
        for ax in (ax_rul, ax_hi):
            ax.axvline(onset / scale, color="tab:orange", lw=1.5)
        ax_rul.text(onset / scale, life_s / scale * 1.2, " degradation onset",
                    color="tab:orange", va="top")
    invalid = [e for e in estimates if not e["valid"]]
    if invalid:
        ax_rul.plot(np.array([e["t_s"] for e in invalid]) / scale, np.zeros(len(invalid)), "|",
                    color="k", label="not valid (not calibrated)")
    ax_rul.set_ylim(0, life_s / scale * 1.3)
    ax_rul.set_ylabel(f"remaining useful life ({unit})")
    ax_rul.set_title(title)
    ax_rul.legend(loc="upper right", fontsize=8)
    ax_rul.grid(alpha=0.3)
    ax_hi.plot(t_all, [e["health_index"] for e in estimates], color="tab:green")
    ax_hi.set_ylim(-0.05, 1.05)
    ax_hi.set_ylabel("health index")
    ax_hi.set_xlabel(f"{time_label} ({unit})")
    ax_hi.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
