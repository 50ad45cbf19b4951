"""Helpers of the real-data cascade tests: the shipped real-data models (loaded once), real data
or a skip, and analysis windows built as the monitor's window assembler builds them."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.inference import NetworkSet, real_data_networks
from pm_monitor.core.model_set import read_descriptor
from pm_monitor.core.model_set.real_data import real_data_cascade
from pm_monitor.core.realdata.profile import RealDataProfile, load_profile
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.types import ACCEL, MIC, NS_PER_S
from pm_monitor.datasets.paths import DataNotFoundError, data_root

REAL_DATA_SET = Path(__file__).resolve().parents[3] / "models" / "real_data"
HOP_NS = NS_PER_S // 10
# Stamps of replayed snapshot 0 sit half a sample after a 0.1 s grid point, so each 0.1 s
# window of the assembler holds exactly one snapshot (see test_realdata_stage1.py).
START_NS = 1_700_000_000 * NS_PER_S + 19_531


@cache
def profile() -> RealDataProfile:
    torch.set_num_threads(1)
    return load_profile(read_descriptor(REAL_DATA_SET))


@cache
def networks() -> NetworkSet:
    """The real-data networks on torch (the reference backend)."""
    return NetworkSet.create(real_data_networks(profile()))


def cascade() -> Cascade:
    """A fresh cascade of the real-data model set (its models loaded once)."""
    return real_data_cascade(profile(), networks=networks())


def need_data() -> None:
    try:
        data_root()
    except DataNotFoundError as err:
        pytest.skip(f"real data not available: {err}")


def accel_window(snapshot: np.ndarray, k: int, rate: float = 25600.0,
                 channels: tuple[str, ...] = ("horizontal", "vertical")) -> StreamWindow:
    """Window k of a continuous stream of back-to-back 2560-sample snapshots."""
    n = snapshot.shape[0]
    return StreamWindow(np.asarray(snapshot, np.float32), rate, channels,
                        START_NS + k * round(n / rate * NS_PER_S), np.ones(n, bool))


def mic_window(samples: np.ndarray, t_start_ns: int, rate: float = 16000.0) -> StreamWindow:
    return StreamWindow(np.asarray(samples, np.float32)[:, None], rate, ("mic",), t_start_ns,
                        np.ones(len(samples), bool))


def window(k: int, accel: StreamWindow | None = None, mic: StreamWindow | None = None,
           frames: dict[str, FrameSample] | None = None,
           missing: tuple[str, ...] = ()) -> AnalysisWindow:
    streams = {name: s for name, s in ((ACCEL, accel), (MIC, mic)) if s is not None}
    return AnalysisWindow(START_NS + (k + 1) * HOP_NS, 0.1, streams, frames or {}, missing)
