"""MIMII fans through the live path: each fan id is a microphone-only asset
(config/assets/mimii_fan.yaml, nothing else), its clips played as microphone SensorChunks
through the monitor node's pipeline (`live_path.LiveUnit`: synchroniser windows, the physics
set's Stage 1 deciding by sound alone, the alarm manager).

Protocol (the split mimii_eval uses): the id's normal `train` clips commission the acoustic
reference, each clip played as its own stream; they are all the normal data the id has, so
the reference is fitted when the last one is in (as mimii_eval and the CWRU live path do) and
no test clip can join it. Then every `test` clip (normal and anomalous) is played as a fresh
stream on the commissioned asset: states, persistence and the alarm manager start again per
clip, the reference is never updated by a test clip. Clip score = mean of the pipeline's
anomaly score over the clip's decided windows (mimii_eval's clip score is the same mean on
windows cut by hand).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pm_monitor.core.types import MIC, HealthState
from pm_monitor.datasets import machine_sound
from pm_monitor.evaluation.any_machine.common import fmt, log
from pm_monitor.evaluation.any_machine.live_path import CHUNK_S, LiveUnit, write_asset
from pm_monitor.evaluation.any_machine.mimii_eval import PAPER_AE_BASELINE, auroc, fan_splits

FAN_ASSET = "mimii_fan"
def play_clip(unit: LiveUnit, clip, chunk_loss: float = 0.0, seed: int = 0,
              chunk_s: float = CHUNK_S) -> list:
    x = machine_sound.load_clip(clip)
    return unit.play(x[:, None], float(machine_sound.SAMPLE_RATE_HZ), ["mic"], unit="",
                     modality=MIC, chunk_loss=chunk_loss, seed=seed, chunk_s=chunk_s)


def commission_fan(unit: LiveUnit, train: list, chunk_loss: float = 0.0, seed: int = 0,
                   chunk_s: float = CHUNK_S) -> int:
    """Play the normal train clips (each its own stream, `chunk_s` chunks lost with
    `chunk_loss`) and fit the acoustic reference on them; returns the windows it learned
    from."""
    for k, clip in enumerate(train):
        outs = play_clip(unit, clip, chunk_loss, seed + k, chunk_s)
        assert not any(w.decided for w in outs), "a train clip was judged"
    builder = unit.stage.acoustic.builder
    builder.finish()  # every normal clip is in: the commissioning period ends here
    unit.stage.acoustic_store.save(builder.reference)
    return len(builder.reference.rows)


def judge_clip(unit: LiveUnit, clip) -> dict:
    outs = play_clip(unit, clip)
    assert outs and all(w.decided for w in outs), "a test clip reached commissioning"
    pre = [k for k, w in enumerate(outs) if w.state >= HealthState.PRE_WARNING]
    return {"file": clip.file, "label": clip.label, "windows": len(outs),
            "score": float(np.mean([w.anomaly_score for w in outs])),
            "anomalous_windows": sum(w.anomalous for w in outs),
            "max_state": max(w.state for w in outs),
            "first_pre_warning_window": pre[0] if pre else None,
            "alerts_raised": sum(w.raised for w in outs)}


def mimii_live(work: Path, max_clips: int = 0, ids: list[str] | None = None) -> dict:
    """Per fan id (`ids`, default all with both labels): commissioning on the normal train
    clips, then every test clip (or the first `max_clips` of each label when > 0) judged;
    AUROC of the clip scores, alarms per label."""
    out = {}
    for mid, (train, test) in fan_splits().items():
        if ids is not None and mid not in ids:
            continue
        if max_clips > 0:
            test = [c for label in ("normal", "anomaly")
                    for c in [t for t in test if t.label == label][:max_clips]]
        log(f"MIMII fan {mid} through the live path: {len(train)} commissioning clips, "
            f"{len(test)} test clips")
        asset = write_asset(FAN_ASSET, work, f"{FAN_ASSET}_{mid}",
                            commissioning={"duration_s": 10.0 * len(train)})
        unit = LiveUnit(asset, work / "refs", zone_alarms=False)
        learned = commission_fan(unit, train)
        rows = [judge_clip(unit, c) for c in test]
        normal = [r for r in rows if r["label"] == "normal"]
        anomaly = [r for r in rows if r["label"] == "anomaly"]
        out[mid] = {
            "commissioning_clips": len(train), "commissioning_windows": learned,
            "alone_s": unit.stage.asset.microphone_alone_s,
            "threshold": unit.stage.acoustic.reference.threshold,
            "auroc": auroc([r["score"] for r in rows], [r["label"] == "anomaly" for r in rows]),
            "paper_ae_baseline": PAPER_AE_BASELINE.get(mid),
            "n_test_normal": len(normal), "n_test_anomaly": len(anomaly),
            "normal_clips_alerted": sum(r["alerts_raised"] > 0 for r in normal),
            "anomaly_clips_alerted": sum(r["alerts_raised"] > 0 for r in anomaly),
            "normal_clips_not_normal": sum(r["max_state"] > 0 for r in normal),
            "anomaly_clips_not_normal": sum(r["max_state"] > 0 for r in anomaly),
            "max_state": max(r["max_state"] for r in rows), "clips": rows}
    return out


def mimii_report_lines(live: dict, direct: dict, max_clips: int = 0) -> list[str]:
    """The MIMII table: per fan id, the live path beside mimii_eval's direct score."""
    alone = {r["alone_s"] for r in live.values()}
    lines = ["## MIMII fans (0 dB) as microphone-only assets (config/assets/mimii_fan.yaml)", "",
             "| id | AUROC live (pipeline) | AUROC direct (mimii_eval) | MIMII paper AE baseline "
             "| test normal / anomaly | normal clips alerted (false alarms) | anomaly clips "
             "alerted | highest state |", "|---|---|---|---|---|---|---|---|"]
    for mid, r in live.items():
        d = direct.get(mid, {})
        direct_auroc = f"{d['auroc']:.3f}" if "auroc" in d else "-"
        lines.append(f"| {mid} | {r['auroc']:.3f} | {direct_auroc} | "
                     f"{fmt(r['paper_ae_baseline'])} | {r['n_test_normal']} / "
                     f"{r['n_test_anomaly']} | {r['normal_clips_alerted']} / "
                     f"{r['n_test_normal']} | {r['anomaly_clips_alerted']} / "
                     f"{r['n_test_anomaly']} | {HealthState(r['max_state']).name} |")
    cap = (f" Test clips capped at {max_clips} per label and id." if max_clips else "")
    lines += ["", "Each fan id is a new asset with nothing but the mic-only asset file (its id "
              "and a commissioning duration covering its train clips changed). Commissioning: "
              "the id's normal train clips, each played as its own stream of 0.1 s microphone "
              "SensorChunks (16 kHz, 1 s windows / 0.5 s hop from the asset file); the "
              "reference is fitted when the last one is in. Each test clip is then a fresh "
              "stream on the commissioned asset (states, persistence and alarm manager start "
              "again; the reference is never updated by a test clip). A clip gives 17 decided "
              "windows (the synchroniser's grid starts one window after the first stamp and "
              "the last window waits for later data). Clip score = mean of the pipeline's "
              "anomaly score over its windows; alerted = the alarm manager raised an alert "
              f"in the clip (sound alone: Pre-Warning after {'/'.join(f'{a:g}' for a in alone)}"
              " s of consecutive anomalous windows, never higher; a bare deviation is "
              "advisory)." + cap, ""]
    return lines


def plot_mimii(live: dict, path: Path) -> None:
    """Clip scores over the threshold per id and label, alerted clips marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(live), figsize=(4.5 * len(live), 4), squeeze=False)
    for ax, (mid, r) in zip(axes[0], live.items(), strict=True):
        for k, label in enumerate(("normal", "anomaly")):
            rows = [c for c in r["clips"] if c["label"] == label]
            y = [c["score"] for c in rows]
            x = k + np.linspace(-0.15, 0.15, len(rows)) if rows else []
            alerted = np.array([c["alerts_raised"] > 0 for c in rows], bool)
            ax.scatter(np.asarray(x)[~alerted], np.asarray(y)[~alerted],
                       c="C0" if k == 0 else "C3", marker="o", label=label)
            ax.scatter(np.asarray(x)[alerted], np.asarray(y)[alerted], c="k", marker="x",
                       s=60, label="alert raised" if k == 1 else None)
        ax.axhline(r["threshold"], color="0.5", ls="--", lw=1, label="window threshold")
        ax.set_xticks([0, 1], ["normal", "anomaly"])
        ax.set_yscale("log")
        ax.set_title(f"fan {mid}: AUROC {r['auroc']:.3f} (paper AE "
                     f"{fmt(r['paper_ae_baseline'])})", fontsize=9)
        ax.set_ylabel("clip score (mean anomaly score, pipeline)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
