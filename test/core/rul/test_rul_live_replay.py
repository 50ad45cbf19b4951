"""Live path == offline path: the shipped model fed a FEMTO bearing through the replay core
(the SensorChunks the replay node publishes) gives the estimates the offline evaluation
computes from the same snapshots."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pm_monitor.core.rul.ensemble import RulEnsemble, sequence_positions
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.snapshot import snapshot_inputs
from pm_monitor.datasets.paths import DataNotFoundError

MODEL = Path(__file__).resolve().parents[3] / "models" / "rul_femto" / "rul_femto.pt"
SNAPSHOTS = 10


def test_replayed_bearing_gives_the_offline_estimates():
    replay = pytest.importorskip("pm_monitor.replay")
    from pm_monitor.datasets.femto import load_bearing
    try:
        bearing = load_bearing("Bearing3_3")
    except DataNotFoundError as err:
        pytest.skip(str(err))
    model = RulEnsemble.load(MODEL)
    source = replay.build_source("femto", replay.Selection(bearing="Bearing3_3"))
    messages = replay.replay_messages([source], replay.ReplayConfig(start_stamp_ns=10**18))
    live = LiveRulEstimator(model, LiveConfig(update_period_s=10.0))
    estimates = []
    for message in itertools.islice(messages, SNAPSHOTS * 5):  # 5 chunks of 20 ms each
        p = message.payload
        estimates += live.on_chunk(message.stamp_ns, p.sample_rate, list(p.channel_names),
                                   p.unit, p.first_sample_index, p.samples.reshape(-1))
    assert len(estimates) == SNAPSHOTS
    acc = bearing.acc_g[:SNAPSHOTS]
    inputs = [snapshot_inputs(s[:, 0], s[:, 1], model.snapshot) for s in acc]
    images, features = np.stack([i for i, _ in inputs]), np.stack([f for _, f in inputs])
    positions = sequence_positions(bearing.t_s[:SNAPSHOTS], np.arange(SNAPSHOTS), model.sequence)
    offline = model.predict(images[positions], features[positions])
    for name, values in offline.mean.items():
        np.testing.assert_allclose([e.normalised[name] for e in estimates], values, atol=1e-5)
