"""PNG per bearing and the markdown table of the FEMTO RUL evaluation (from metrics.json)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

TITLES = {"piecewise": "piecewise-linear target", "linear": "linear target"}


def write_plots(report: dict, out_dir: Path) -> list[Path]:
    paths = []
    for name, p in report["predictions"].items():
        metrics = report["per_bearing"][name]
        t_h = np.asarray(p["t_s"]) / 3600.0
        fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
        for ax, target in zip(axes, ("piecewise", "linear"), strict=True):
            m = metrics[target]
            ax.fill_between(t_h, p[f"lower_{target}"], p[f"upper_{target}"], color="tab:blue",
                            alpha=0.25, linewidth=0, label="80 % interval")
            ax.plot(t_h, p[f"mean_{target}"], color="tab:blue", linewidth=1.0,
                    label=f"ensemble (MAE {m['deep_mae']:.3f})")
            ax.plot(t_h, p[f"truth_{target}"], color="black", linewidth=1.6, label="truth")
            life = np.asarray(p["t_s"])[-1]
            rul = np.asarray(p["baseline_rul_s"])
            t = np.asarray(p["t_s"])
            if target == "linear":
                ax.plot(t_h, rul / np.maximum(t + rul, 1e-9), color="tab:orange",
                        linewidth=1.0, alpha=0.8,
                        label=f"RMS + exp. baseline (MAE {m['baseline_mae']:.3f})")
            onset = metrics.get("onset_s")
            if onset is not None:
                ax.axvline(onset / 3600.0, color="tab:red", linestyle="--", linewidth=0.8,
                           label="onset (causal rule)")
            ax.set_ylim(-0.03, 1.05)
            ax.set_ylabel("normalised RUL")
            ax.set_title(f"{name} (condition {metrics['condition']}), {TITLES[target]}, "
                         f"coverage {m['deep_coverage']:.2f}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(loc="lower left", fontsize=8)
            ax.set_xlim(0, life / 3600.0)
        axes[-1].set_xlabel("time since first snapshot (h)")
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def write_markdown(report: dict, path: Path) -> None:
    s = report["summary"]
    run = report["run"]
    lines = [f"# FEMTO RUL, leave-one-bearing-out ({run['date_utc']})", "",
             f"Command: `{run['command']}`; {run['seconds']:.0f} s on {run['machine']}.", "",
             "## Per held-out bearing (normalised RUL, all snapshots, time order)", "",
             "| bearing | cond | onset (h) | pw MAE deep / base | pw RMSE deep | pw cover. | "
             "lin MAE deep / base | lin RMSE deep | lin cover. | PHM@life deep-lin / "
             "deep-pw / base |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in report["per_bearing"].items():
        pw, li = m["piecewise"], m["linear"]
        acc = {k: np.mean([p[k]["accuracy"] for p in m["life_points"]])
               for k in ("deep_linear", "deep_piecewise", "baseline")}
        onset = m["onset_s"]
        lines.append(
            f"| {name} | {m['condition']} | {_f(onset / 3600 if onset else None, 2)} | "
            f"{_f(pw['deep_mae'])} / {_f(pw['baseline_mae'])} | {_f(pw['deep_rmse'])} | "
            f"{_f(pw['deep_coverage'], 2)} | {_f(li['deep_mae'])} / {_f(li['baseline_mae'])} | "
            f"{_f(li['deep_rmse'])} | {_f(li['deep_coverage'], 2)} | "
            f"{_f(acc['deep_linear'])} / {_f(acc['deep_piecewise'])} / {_f(acc['baseline'])} |")
    lines += ["", "## Overall (mean over the held-out bearings)", "",
              "| target | deep MAE | deep RMSE | baseline MAE | baseline RMSE | "
              "80 % interval coverage | mean interval width |", "|---|---|---|---|---|---|---|"]
    for target in ("piecewise", "linear"):
        t = s[target]
        lines.append(f"| {target} | {_f(t['deep_mae'])} | {_f(t['deep_rmse'])} | "
                     f"{_f(t['baseline_mae'])} | {_f(t['baseline_rmse'])} | "
                     f"{_f(t['deep_coverage'], 2)} | {_f(t['deep_interval_width'], 2)} |")
    gated = s["piecewise"].get("deep_gated_mae")
    if gated is not None:
        lines.append(f"| piecewise, deep held at 1 until the causal onset | {_f(gated)} | "
                     f"{_f(s['piecewise']['deep_gated_rmse'])} | "
                     f"{_f(s['piecewise']['baseline_mae'])} | "
                     f"{_f(s['piecewise']['baseline_rmse'])} | | |")
    lines += ["", f"Baseline interval coverage (seconds, where it had a trend): "
              f"{_f(s['baseline_coverage_s'], 2)}", "",
              "## PHM 2012 score (mean accuracy A; higher is better; winner 2012: 0.31)", "",
              "| evaluation points | deep, linear head | deep, piecewise head | baseline |",
              "|---|---|---|---|"]
    phm = s["phm_life_points"]
    lines.append(f"| all bearings at {report['config']['life_fractions']} of life (LOBO) | "
                 f"{_f(phm['deep_linear'])} | {_f(phm['deep_piecewise'])} | "
                 f"{_f(phm['baseline'])} |")
    for key, label in (("phm_truncation_lobo", "LOBO models"),
                       ("phm_truncation_challenge_split", "challenge split (6 learning)")):
        block = s.get(key)
        if not block:
            continue
        for lab in ("official", "end_of_record"):
            lines.append(f"| 5 test bearings at truncation, {label}, {lab} label | "
                         f"{_f(block['deep_linear'][lab])} | {_f(block['deep_piecewise'][lab])}"
                         f" | {_f(block['baseline'][lab])} |")
    lines += ["", "### Truncation points", "",
              "| bearing | models | actual (official / end of record) s | deep-lin s | "
              "deep-pw s | baseline s |", "|---|---|---|---|---|---|"]
    for key, label in (("per_bearing", "LOBO"), ("challenge_split", "challenge")):
        for name, m in report[key].items():
            r = m.get("truncation")
            if not r:
                continue
            lines.append(f"| {name} | {label} | {r['actual_official_s']:.0f} / "
                         f"{r['actual_end_of_record_s']:.0f} | "
                         f"{r['deep_linear']['rul_s']:.0f} | {r['deep_piecewise']['rul_s']:.0f}"
                         f" | {r['baseline']['rul_s']:.0f} |")
    if s.get("noise_mae"):
        lines += ["", "## Noise robustness (MAE of normalised RUL, every "
                  f"{report['config']['noise_stride']}th snapshot, mean over bearings)", "",
                  "| input | piecewise MAE | change | linear MAE | change |",
                  "|---|---|---|---|---|"]
        clean = s["noise_mae"]["clean"]
        for kind, v in s["noise_mae"].items():
            lines.append(f"| {kind} | {_f(v['piecewise'])} | "
                         f"{_f(v['piecewise'] - clean['piecewise'], 4)} | {_f(v['linear'])} | "
                         f"{_f(v['linear'] - clean['linear'], 4)} |")
    lines.append("")
    path.write_text("\n".join(lines))
