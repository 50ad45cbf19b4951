"""Small synthetic inputs and untrained models for the RUL tests (no data set needed)."""
from __future__ import annotations

import numpy as np
import torch

from pm_monitor.training.rul_data import BearingInputs
from pm_monitor.training.rul_network.ensemble import Calibration, RulEnsemble, SequenceConfig
from pm_monitor.training.rul_network.network import OUTPUT_NAMES, NetConfig, RulNet
from pm_monitor.training.rul_network.snapshot import SnapshotConfig

FS = 25600.0
# The models here are tiny: one thread avoids OpenMP contention on the shared 2-core machine.
torch.set_num_threads(1)


def small_ensemble(members: int = 2, seed: int = 0) -> RulEnsemble:
    torch.manual_seed(seed)
    nets = [RulNet(NetConfig()) for _ in range(members)]
    calibration = Calibration(0.8, {name: [(-0.1, 0.1)] * 4 for name in OUTPUT_NAMES})
    return RulEnsemble(nets, np.zeros(7), np.ones(7), SnapshotConfig(), SequenceConfig(),
                       calibration)


def fake_bearing(name: str, n: int = 40, seed: int = 0) -> BearingInputs:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 10.0
    return BearingInputs(
        name=name, condition=1, split="learning", t_s=t,
        images=(rng.random((n, 64, 64)) < 0.1).astype(np.uint8),
        features=rng.normal(size=(n, 7)).astype(np.float32),
        rms_h=np.linspace(0.4, 2.0, n), life_s=float(t[-1]), truncation_pos=None,
        official_rul_s=None)


def vibration(n: int, amplitude: float, seed: int) -> np.ndarray:
    """(n, 2) horizontal + vertical in g: a 3 kHz tone plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    tone = amplitude * np.sin(2 * np.pi * 3000.0 * t)
    return np.stack([tone + 0.1 * rng.normal(size=n), tone + 0.1 * rng.normal(size=n)],
                    axis=1).astype(np.float32)


def small_prognosis(calibrated: bool = True, reference_s: float = 60.0):
    """A hand-made prognosis model over rms_g_h / rms_g_v (damage 1 = the RMS x e^2); the onset
    comes from the health states the caller feeds."""
    from pm_monitor.core.rul.onset import OnsetConfig
    from pm_monitor.core.rul.prior import WeibullPrior
    from pm_monitor.core.rul.prognosis import PrognosisModel

    z = tuple(float(v) for v in np.linspace(-1.5, 1.5, 99))
    return PrognosisModel(
        prior=WeibullPrior("test_bearing", shape=2.0, scale=3600.0, reference="seconds"),
        onset=OnsetConfig(indicators=("rms_g_h", "rms_g_v"), reference_s=reference_s,
                          smooth_s=20.0),
        failure_levels=(2.0, 2.0), post_onset_log_mean=float(np.log(600.0)),
        post_onset_log_std=0.5,
        calibration={"population_prior": z, "condition_based": z} if calibrated else {})


def femto_asset():
    """The FEMTO bearing's asset description (config/assets): what gives the live onset."""
    from pathlib import Path

    from pm_monitor.core.assets.description import load
    return load(Path(__file__).resolve().parents[1] / "config" / "assets" / "femto_bearing.yaml")
