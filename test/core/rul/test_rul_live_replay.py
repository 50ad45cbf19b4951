"""Live path == offline path: the shipped prognosis model fed a FEMTO bearing through the
replay core (the SensorChunks the replay node publishes) gives the estimates the offline
evaluation computes from the same snapshots' indicators and any-machine health states."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from rul_fakes import femto_asset

from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator, judged_state, onset_monitor
from pm_monitor.core.rul.onset import indicator_names, snapshot_indicators
from pm_monitor.core.rul.prognosis import PrognosisModel, estimate
from pm_monitor.datasets.paths import DataNotFoundError

MODEL = Path(__file__).resolve().parents[3] / "models" / "rul_femto" / "rul_prognosis.json"
SNAPSHOTS = 70  # past the 600 s reference: the prior is then fed measured indicators


def test_replayed_bearing_gives_the_offline_estimates():
    replay = pytest.importorskip("pm_monitor.replay")
    from pm_monitor.datasets.femto import load_bearing
    try:
        bearing = load_bearing("Bearing3_3")
    except DataNotFoundError as err:
        pytest.skip(str(err))
    model = PrognosisModel.load(MODEL)
    source = replay.build_source("femto", replay.Selection(bearing="Bearing3_3"))
    messages = replay.replay_messages([source], replay.ReplayConfig(start_stamp_ns=10**18))
    config = LiveConfig(update_period_s=10.0, rpm=bearing.rpm, load_n=bearing.load_n)
    live = LiveRulEstimator(model, config, femto_asset())
    estimates = []
    for message in itertools.islice(messages, SNAPSHOTS * 5):  # 5 chunks of 20 ms each
        p = message.payload
        estimates += live.on_chunk(message.stamp_ns, p.sample_rate, list(p.channel_names),
                                   p.unit, p.first_sample_index, p.samples.reshape(-1))
    assert len(estimates) == SNAPSHOTS
    names = indicator_names(bearing.fs)
    columns = [names.index(n) for n in model.indicator_names]
    rows = np.stack([snapshot_indicators(s[:, 0], s[:, 1], bearing.fs)[columns]
                     for s in bearing.acc_g[:SNAPSHOTS]])
    monitor = onset_monitor(femto_asset(), ["horizontal", "vertical"], bearing.fs, model.onset,
                            config.window_s, config.update_period_s)
    states = [judged_state(monitor.process(s, "g", bearing.rpm))
              for s in bearing.acc_g[:SNAPSHOTS]]
    assert states[0] is None and states[-1] is not None  # commissioned on the first 600 s
    states = np.array([-1 if s is None else int(s) for s in states])
    offline = estimate(model, live.condition, bearing.t_s[:SNAPSHOTS] + 0.1, rows, states)
    assert live.last_assessment.state == monitor.machine.state
    assert estimates[-1].median_s == pytest.approx(offline.median_s, rel=1e-5)
    assert estimates[-1].evidence == offline.evidence == "population_prior"
    assert estimates[-1].valid
