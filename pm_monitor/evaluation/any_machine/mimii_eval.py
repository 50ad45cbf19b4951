"""MIMII fan part of the any-machine evaluation: per id, commissioning on normal clips only,
AUROC beside the MIMII paper's autoencoder baseline."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.condition import acoustic, reference
from pm_monitor.datasets import machine_sound
from pm_monitor.evaluation.any_machine.common import fmt, log

SOUND_FRAME_S = 1.0  # the physics model set's window; frames overlap by half, as its hop
PAPER_AE_BASELINE = {"id_00": 0.63, "id_02": 0.86}  # MIMII paper, 0 dB sample results


def fan_splits() -> dict[str, tuple[list, list]]:
    """Fan id -> (normal train clips, test clips), for the ids with train clips and both
    labels among their test clips: the split every MIMII evaluation here uses."""
    clips = [c for c in machine_sound.list_clips() if c.machine_type == "fan"]
    out = {}
    for mid in sorted({c.machine_id for c in clips}):
        train = [c for c in clips if c.machine_id == mid and c.split == "train"]
        test = [c for c in clips if c.machine_id == mid and c.split == "test"]
        if train and len({c.label for c in test}) == 2:
            out[mid] = (train, test)
    return out


def auroc(scores: list[float], labels: list[bool]) -> float:
    """P(an anomalous clip scores above a normal one), ties counted half."""
    from scipy.stats import mannwhitneyu
    s, y = np.asarray(scores), np.asarray(labels)
    return float(mannwhitneyu(s[y], s[~y]).statistic / (y.sum() * (~y).sum()))


def _score_id(train: list, test: list, rate: float, columns: slice | None) -> float:
    """AUROC of the core acoustic features and reference model on a subset of the features
    (`columns`; the full set is _score_id_monitor): clip score = mean anomaly distance."""
    names = acoustic.acoustic_feature_names(rate)
    keep = columns or slice(None)

    def frames(clip):
        return acoustic.clip_frames(machine_sound.load_clip(clip), rate, SOUND_FRAME_S)[:, keep]

    builder = reference.ReferenceBuilder.new("fan", rate, ["mic"], names[keep], 1e9)
    for clip in train:
        for f in frames(clip):
            builder.add(f[None, :], SOUND_FRAME_S)
    ref = builder.finish()
    scores = [float(np.mean([reference.anomaly_distance(ref, f[None, :]) for f in frames(c)]))
              for c in test]
    return auroc(scores, [c.label == "anomaly" for c in test])


def _frames_of(x: np.ndarray, rate: float):
    """The clip cut as the monitor's windows (SOUND_FRAME_S, half-overlapping)."""
    n = int(SOUND_FRAME_S * rate)
    for s in range(0, x.size - n + 1, n // 2):
        yield x[s:s + n]


def _score_id_monitor(mid: str, train: list, test: list, rate: float) -> float:
    """AUROC of the monitor's own AcousticMonitor (what the physics set runs on a microphone):
    commissioned on the normal train clips (reference fitted when they are all in), clip score
    = mean anomaly over threshold of its windows."""
    monitor = acoustic.AcousticMonitor(f"fan_{mid}", ["mic"], rate, None, required_s=1e9)
    for clip in train:
        for frame in _frames_of(machine_sound.load_clip(clip), rate):
            monitor.process(frame, new_s=SOUND_FRAME_S / 2)
    monitor.builder.finish()  # every normal clip is in: the commissioning period ends here
    scores = [float(np.mean([monitor.process(f).anomaly
                             for f in _frames_of(machine_sound.load_clip(c), rate)]))
              for c in test]
    return auroc(scores, [c.label == "anomaly" for c in test])


def mimii_section() -> dict:
    """Per fan id: commissioning on the normal train clips with the monitor's own acoustic
    reference (core.condition.acoustic: band shares + band power, robust Gaussian), clip score
    = mean anomaly distance. Also scored on the spectral shape alone (the band shares) and on
    RMS alone, to show the score is not just loudness (the README warns that RMS alone flips
    between ids)."""
    rate = float(machine_sound.SAMPLE_RATE_HZ)
    n_bands = len(acoustic.acoustic_bands(rate))
    out = {}
    for mid, (train, test) in fan_splits().items():
        log(f"MIMII fan {mid}: {len(train)} normal clips for commissioning, {len(test)} test")
        result = {"auroc": _score_id_monitor(mid, train, test, rate),
                  "auroc_shape_only": _score_id(train, test, rate, slice(0, n_bands))}
        rms = [float(np.sqrt(np.mean(machine_sound.load_clip(c) ** 2))) for c in test]
        result["auroc_rms_only"] = auroc(rms, [c.label == "anomaly" for c in test])
        out[mid] = {**result, "n_test_normal": sum(c.label == "normal" for c in test),
                    "n_test_anomaly": sum(c.label == "anomaly" for c in test),
                    "paper_ae_baseline": PAPER_AE_BASELINE.get(mid)}
    return out


def mimii_lines(section: dict) -> list[str]:
    """The report lines of the mimii section (section)."""
    lines: list[str] = []
    lines += ["## MIMII fan (0 dB), commissioning on normal train clips only", "",
              "| id | AUROC (ours: band shares + power) | band shares only | RMS alone "
              "| MIMII paper AE baseline | test normal / anomaly |", "|---|---|---|---|---|---|"]
    for mid, r in section.items():
        lines.append(f"| {mid} | {r['auroc']:.3f} | {r['auroc_shape_only']:.3f} | "
                     f"{r['auroc_rms_only']:.3f} | {fmt(r['paper_ae_baseline'])} | "
                     f"{r['n_test_normal']} / {r['n_test_anomaly']} |")
    return lines
