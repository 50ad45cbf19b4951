"""MIMII fan part of the any-machine evaluation: per id, commissioning on normal clips only,
AUROC beside the MIMII paper's autoencoder baseline."""
from __future__ import annotations

import itertools

import numpy as np

from pm_monitor.core.condition import reference
from pm_monitor.core.features.acoustic import log_band_energies
from pm_monitor.datasets import machine_sound
from pm_monitor.evaluation.any_machine.common import fmt, log

SOUND_FRAME_S = 1.0


def _sound_bands(rate: float) -> tuple[tuple[float, float], ...]:
    edges = np.geomspace(50.0, 0.47 * rate, 33)
    return tuple(itertools.pairwise(edges))


def _sound_frames(x: np.ndarray, rate: float) -> np.ndarray:
    n = int(SOUND_FRAME_S * rate)
    bands = _sound_bands(rate)
    return np.stack([10.0 ** log_band_energies(x[s:s + n], rate, bands)
                     for s in range(0, x.size - n + 1, n // 2)])


def _auroc(scores: list[float], labels: list[bool]) -> float:
    from scipy.stats import mannwhitneyu
    s, y = np.asarray(scores), np.asarray(labels)
    return float(mannwhitneyu(s[y], s[~y]).statistic / (y.sum() * (~y).sum()))


def mimii_section() -> dict:
    """Per fan id: commissioning on the normal train clips (robust Gaussian on log band
    energies, the same reference model as vibration), clip score = mean anomaly distance.
    Also scored on the spectral shape alone (band energies / total energy), to show the
    score is not just loudness (the README warns that RMS alone flips between ids)."""
    clips = [c for c in machine_sound.list_clips() if c.machine_type == "fan"]
    rate = float(machine_sound.SAMPLE_RATE_HZ)
    names = [f"band_{lo:.0f}_{hi:.0f}hz" for lo, hi in _sound_bands(rate)]
    out = {}
    for mid in sorted({c.machine_id for c in clips}):
        train = [c for c in clips if c.machine_id == mid and c.split == "train"]
        test = [c for c in clips if c.machine_id == mid and c.split == "test"]
        if not train or len({c.label for c in test}) < 2:
            continue
        log(f"MIMII fan {mid}: {len(train)} normal clips for commissioning, {len(test)} test")
        result = {}
        for variant, norm in (("auroc", False), ("auroc_shape_only", True)):
            def frames(clip, norm=norm):
                f = _sound_frames(machine_sound.load_clip(clip), rate)
                return f / f.sum(axis=1, keepdims=True) if norm else f
            builder = reference.ReferenceBuilder.new(f"fan_{mid}", rate, ["mic"], names, 1e9)
            for c in train:
                for f in frames(c):
                    builder.add(f[None, :], SOUND_FRAME_S)
            ref = builder.finish()
            scores = [float(np.mean([reference.anomaly_distance(ref, f[None, :])
                                     for f in frames(c)])) for c in test]
            result[variant] = _auroc(scores, [c.label == "anomaly" for c in test])
        rms = [float(np.sqrt(np.mean(machine_sound.load_clip(c) ** 2))) for c in test]
        result["auroc_rms_only"] = _auroc(rms, [c.label == "anomaly" for c in test])
        out[mid] = {**result, "n_test_normal": sum(c.label == "normal" for c in test),
                    "n_test_anomaly": sum(c.label == "anomaly" for c in test),
                    "paper_ae_baseline": {"id_00": 0.63, "id_02": 0.86}.get(mid)}
    return out


def mimii_lines(section: dict) -> list[str]:
    """The report lines of the mimii section (section)."""
    lines: list[str] = []
    lines += ["## MIMII fan (0 dB), commissioning on normal train clips only", "",
              "| id | AUROC (ours) | ours, spectral shape only | RMS alone | MIMII paper AE"
              " baseline | test normal / anomaly |", "|---|---|---|---|---|---|"]
    for mid, r in section.items():
        lines.append(f"| {mid} | {r['auroc']:.3f} | {r['auroc_shape_only']:.3f} | "
                     f"{r['auroc_rms_only']:.3f} | {fmt(r['paper_ae_baseline'])} | "
                     f"{r['n_test_normal']} / {r['n_test_anomaly']} |")
    return lines
