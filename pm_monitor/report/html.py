"""The report page: summary, pictures, alert and explanation tables (plain HTML, no scripts)."""
from __future__ import annotations

import html
from pathlib import Path

from pm_monitor.report.attributions import top_shapley_sensor
from pm_monitor.report.run_data import STATE_NAMES, RunData

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee} img{max-width:100%;border:1px solid #ddd;margin-bottom:1.5em}
.s0{background:#dff0d8}.s1{background:#fcf3c0}.s2{background:#ffd8b0}.s3{background:#f5b7b1}"""


def _e(value) -> str:
    return html.escape(str(value))


def summary_rows(run: RunData) -> list[tuple[str, str]]:
    raised = [a for a in run.alerts if a.event == "raised"]
    worst = max((a.state for a in run.alerts), default=0)
    last_rul = run.rul[-1] if run.rul else None
    kind = ("MCAP recording" if run.kind == "mcap"
            else "demo JSON lines: score, threshold and RUL only at alert times")
    rows = [("source", f"{run.source} ({kind})"),
            ("duration", f"{run.duration_s:.1f} s"),
            ("windows (health messages)", str(len(run.health))),
            ("alerts raised / messages", f"{len(raised)} / {len(run.alerts)}"),
            ("worst alert state", STATE_NAMES[worst] if run.alerts else "none"),
            ("explanations", str(len(run.explanations))),
            ("heatmaps", str(len(run.heatmaps)))]
    if last_rul is not None:
        rows.append(("last RUL estimate", f"{last_rul.rul_s:.0f} s "
                     f"[{last_rul.lower_s:.0f}, {last_rul.upper_s:.0f}] at t = "
                     f"{last_rul.t_s:.1f} s"))
    if run.explanations:
        ms = sorted(e.computation_s * 1e3 for e in run.explanations)
        rows.append(("explanation time, median / max", f"{ms[len(ms) // 2]:.0f} / "
                     f"{ms[-1]:.0f} ms"))
    return rows


def write_html(run: RunData, out: Path, images: dict[str, Path | None],
               title: str = "pm_monitor run report") -> Path:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>", "<table>"]
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary_rows(run)]
    parts.append("</table>")
    captions = {"timeline": "Timeline", "importance": "Sensor importance",
                "shapley": "Shapley values of the Stage 1 decisions", "heatmaps": "Heatmaps"}
    for key, caption in captions.items():
        image = images.get(key)
        if image is not None:
            parts.append(f"<h2>{caption}</h2><img src='{_e(image.name)}' alt='{caption}'>")
    parts.append("<h2>Alerts</h2><table><tr><th>t (s)</th><th>alert id</th><th>event</th>"
                 "<th>state</th><th>fault</th><th>location</th><th>RUL (s)</th>"
                 "<th>summary</th></tr>")
    for a in run.alerts:
        rul = "" if a.rul_s is None else f"{a.rul_s:.0f}"
        parts.append(f"<tr class='s{a.state}'><td>{a.t_s:.1f}</td><td>{_e(a.alert_id)}</td>"
                     f"<td>{_e(a.event)}</td><td>{STATE_NAMES[a.state]}</td>"
                     f"<td>{_e(a.fault_type)}</td><td>{_e(a.location)}</td><td>{rul}</td>"
                     f"<td>{_e(a.summary)}</td></tr>")
    parts.append("</table><h2>Explanations</h2><table><tr><th>t (s)</th><th>alert id</th>"
                 "<th>top sensor</th><th>top sensor (Shapley)</th><th>time (ms)</th>"
                 "<th>summary</th></tr>")
    for e in run.explanations:
        top = max(e.sensor_importance.items(), key=lambda kv: kv[1], default=("-", 0.0))
        parts.append(f"<tr><td>{e.t_s:.1f}</td><td>{_e(e.alert_id)}</td>"
                     f"<td>{_e(top[0])} ({top[1]:.0%})</td>"
                     f"<td>{_e(top_shapley_sensor(e.shapley_sensors))}</td>"
                     f"<td>{e.computation_s * 1e3:.0f}</td><td>{_e(e.summary)}</td></tr>")
    parts.append("</table></body></html>")
    path = out / "index.html"
    path.write_text("\n".join(parts))
    return path
