"""The RUL survives a restart: the tracker state (operating time, onset, most severe states,
peak damage, damage filter) and the onset monitor's health state machine are stored after each
estimate and restored at construction; a state of another RUL model keeps the asset's facts
and is computed again by the loaded model; a version-1 file (the release before) migrates; a
stored state that cannot be used is refused with the reason and nothing is valid until the
asset is reset."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rul_fakes import FS, femto_asset, small_prognosis, vibration

from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.rul import state as rul_state
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.onset import memory_key
from pm_monitor.core.rul.state import STATE_VERSION, RulStateStore, model_fingerprint

CHANNELS = ["horizontal", "vertical"]
EPOCH_NS = 1_700_000_000 * 10**9
CHUNK = 512
ASSET = femto_asset()
N_SNAPSHOTS = 30
STOP_AFTER = 22  # after the onset (it comes at ~18-19 snapshots)


def amplitude(i: int) -> float:
    """Healthy for 15 snapshots, then a growing level: onset, then a rising damage."""
    return 1.0 if i < 15 else 1.0 + 0.5 * (i - 14)


def femto_chunks(snapshot: int):
    """One 0.1 s snapshot every 10 s (FEMTO's acquisition), in chunks."""
    frames = vibration(round(0.1 * FS), amplitude(snapshot), seed=snapshot)
    first = round(snapshot * 10.0 * FS)
    for k in range(0, len(frames), CHUNK):
        yield EPOCH_NS + round((first + k) * 1e9 / FS), first + k, frames[k:k + CHUNK]


def continuous_chunks(snapshot: int, period_s: float = 1.0):
    """The same levels as a continuous stream: period_s of samples per snapshot index."""
    n = round(period_s * FS)
    frames = vibration(n, amplitude(snapshot), seed=snapshot)
    first = snapshot * n
    for k in range(0, n, 2560):
        yield EPOCH_NS + round((first + k) * 1e9 / FS), first + k, frames[k:k + 2560]


def feed(estimator, snapshots, chunks=femto_chunks):
    out = []
    for i in snapshots:
        for stamp, index, frames in chunks(i):
            out += estimator.on_chunk(stamp, FS, CHANNELS, "g", index, frames.reshape(-1))
    return out


def make(model, root, config=None, asset_id="b1"):
    return LiveRulEstimator(model, config or LiveConfig(update_period_s=10.0), ASSET,
                            ReferenceStore(root).part("rul_snapshots"),
                            RulStateStore(root / "rul_state"), asset_id)


def same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        assert (x.stamp_ns, x.evidence, x.valid, x.onset_s, x.onset_trigger) == \
               (y.stamp_ns, y.evidence, y.valid, y.onset_s, y.onset_trigger)
        for name in ("elapsed_s", "rul_s", "lower_s", "upper_s", "damage", "health_index"):
            assert getattr(x, name) == pytest.approx(getattr(y, name), rel=1e-9, abs=1e-9), name


@pytest.fixture(scope="module")
def model():
    return small_prognosis()


def test_a_run_restored_after_the_onset_gives_the_same_estimates(model, tmp_path):
    """FEMTO's acquisition (0.1 s every 10 s): the machine runs between snapshots, so the
    restarted node counts the stamp gap as operation (count_downtime)."""
    config = LiveConfig(update_period_s=10.0, count_downtime=True)
    whole = feed(make(model, tmp_path / "whole", config), range(N_SNAPSHOTS))
    first = make(model, tmp_path / "split", config)
    before = feed(first, range(STOP_AFTER))
    assert before[-1].evidence == "condition_based", "the stop must come after the onset"
    restarted = make(model, tmp_path / "split", config)  # a new process on the same files
    assert restarted.state_status.startswith("restored") and "onset at" in restarted.state_status
    after = feed(restarted, range(STOP_AFTER, N_SNAPSHOTS))
    same(whole, before + after)
    assert after[-1].evidence == "condition_based" and after[-1].valid
    assert restarted.tracker.peak_damage == pytest.approx(whole[-1].damage)
    assert restarted.monitor.machine.state.name != "NORMAL"  # the latched state came back


def test_the_explanations_recent_history_survives_a_restart(model, tmp_path):
    """After a restart the explanation replays the same window from the same state and keeps
    the asset's healthy level (the first rows it ever saw, not the first after the restart)."""
    config = LiveConfig(update_period_s=10.0, count_downtime=True)
    whole = make(model, tmp_path / "whole", config)
    feed(whole, range(N_SNAPSHOTS))
    feed(make(model, tmp_path / "split", config), range(STOP_AFTER))
    restarted = make(model, tmp_path / "split", config)
    assert "recent history was not restored" not in restarted.state_status
    assert len(restarted.recent) == min(STOP_AFTER, restarted.recent.window)
    feed(restarted, range(STOP_AFTER, N_SNAPSHOTS))
    for a, b in zip(whole.recent.rows(), restarted.recent.rows(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)
    rows = whole.recent.rows()[1]
    assert restarted.recent.replay(rows * 1.5) == pytest.approx(whole.recent.replay(rows * 1.5))


def test_a_bad_recent_history_is_said_and_dropped_not_the_state(model, tmp_path):
    config = LiveConfig(update_period_s=10.0, count_downtime=True)
    feed(make(model, tmp_path, config), range(STOP_AFTER))
    path = tmp_path / "rul_state" / "b1.rul_state.json"
    data = json.loads(path.read_text())
    data["state"]["recent"]["rows"][0] = [1.0]  # a row of the wrong width
    path.write_text(json.dumps(data))
    restarted = make(model, tmp_path, config)
    assert restarted.state_status.startswith("restored")
    assert "recent history was not restored" in restarted.state_status
    assert len(restarted.recent) == 0 and not restarted.state_refused


def test_a_continuous_stream_restored_gives_the_same_estimates(tmp_path):
    """A continuous stream stopped right after an estimate (the state is saved with each)
    and going on where it stopped: nothing to count but stream time."""
    config = LiveConfig(update_period_s=1.0)
    model = small_prognosis(reference_s=6.0)  # commissioning in 6 snapshots of 1 s
    chunks = [c for i in range(N_SNAPSHOTS) for c in continuous_chunks(i)]

    def run(estimator, part, stop_after=None):
        out = []
        for n, (stamp, index, frames) in enumerate(part):
            out += estimator.on_chunk(stamp, FS, CHANNELS, "g", index, frames.reshape(-1))
            if len(out) == stop_after:
                return out, n + 1
        return out, len(part)

    whole, _ = run(make(model, tmp_path / "whole", config), chunks)
    before, stop = run(make(model, tmp_path / "split", config), chunks, STOP_AFTER)
    after, _ = run(make(model, tmp_path / "split", config), chunks[stop:])
    assert before[-1].evidence == "condition_based"
    same(whole, before + after)


def test_downtime_is_not_operation_by_default_and_the_stored_time_beats_the_parameter(
        model, tmp_path):
    before = feed(make(model, tmp_path), range(5))
    config = LiveConfig(update_period_s=10.0, elapsed_at_start_s=5000.0)
    restarted = make(model, tmp_path, config)
    assert "elapsed_at_start_s 5000 s not used" in restarted.state_status
    later = feed(restarted, range(40, 42))  # the node was down for 350 s of stream time
    # elapsed continues from the stored 40.1 s, not from 0, 5000 or the 350 s of downtime
    assert later[0].elapsed_s == pytest.approx(before[-1].elapsed_s + 0.1, abs=1e-6)
    assert later[1].elapsed_s == pytest.approx(before[-1].elapsed_s + 10.1, abs=1e-6)


def test_the_state_file_is_small_and_says_what_it_belongs_to(model, tmp_path):
    estimator = make(model, tmp_path)
    feed(estimator, range(STOP_AFTER))
    data = json.loads(estimator.state_path.read_text())
    assert data["version"] == STATE_VERSION and data["asset_id"] == "b1"
    assert data["model_name"] == model.name
    assert data["model_fingerprint"] == model_fingerprint(model)
    assert estimator.state_path.stat().st_size < 20_000
    assert estimator.state_saves == STOP_AFTER
    assert estimator.diagnostics()["rul_state"].startswith("new asset: no stored state")


def test_without_a_state_file_the_asset_is_new(model, tmp_path):
    estimator = make(model, tmp_path)
    assert estimator.state_status.startswith("new asset: no stored state")
    assert feed(estimator, range(2))[-1].valid


def _stored(model, tmp_path, asset_id="b1"):
    feed(make(model, tmp_path, asset_id=asset_id), range(STOP_AFTER))
    return RulStateStore(tmp_path / "rul_state").path(asset_id)


def _corrupt(path, model, tmp_path):
    path.write_text(path.read_text()[:200])


def _newer(path, model, tmp_path):
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": STATE_VERSION + 1}))


def _other_asset(path, model, tmp_path):
    path.with_name(f"b2{path.name[2:]}").write_text(path.read_text())  # copied to b2's name


def _bad_content(path, model, tmp_path):
    data = json.loads(path.read_text())
    data["state"]["asset"]["tracker"]["onset"]["memory"]["score"] = [1.0, 2.0, 3.0]  # 3 of 2
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("spoil", "asset_id", "reason"), [
    (_corrupt, "b1", "unreadable"),
    (_newer, "b1", "newer pm_monitor"),
    (_other_asset, "b2", "state of asset 'b1', not 'b2'"),
    (_bad_content, "b1", "need 2 indicator values"),
])
def test_a_state_that_cannot_be_used_is_refused_and_nothing_is_valid_until_reset(
        model, tmp_path, spoil, asset_id, reason):
    path = _stored(model, tmp_path)
    spoil(path, model, tmp_path)
    bad = RulStateStore(tmp_path / "rul_state").path(asset_id)
    content = bad.read_text()
    estimator = make(model, tmp_path, asset_id=asset_id)
    assert estimator.state_refused and reason in estimator.state_status
    assert estimator.diagnostics()["rul_state"].startswith("refused")
    estimates = feed(estimator, range(STOP_AFTER, STOP_AFTER + 3))
    assert estimates and not any(e.valid for e in estimates)
    assert bad.read_text() == content, "a refused state is never overwritten"
    estimator.reset()  # a new bearing was fitted
    assert not bad.exists() and not estimator.state_refused
    kept = bad.with_name(bad.name + ".bad")
    assert kept.read_text() == content, "the refused file is kept aside, not deleted"
    assert feed(estimator, range(2))[-1].valid
    assert bad.exists()  # saved again, as a new asset


def refit(model):
    """Another fit of the same design: other failure levels and durations, the same
    indicators and lengths (the damage score is computed the same way)."""
    return replace(model, failure_levels=(1.6, 2.5), post_onset_log_mean=model.post_onset_log_mean
                   + 0.3)


def test_a_state_of_a_refitted_model_keeps_the_asset_history(model, tmp_path):
    """A software update with a refitted model: operating time, onset and the onset monitor's
    state go on; the new model's damage is computed from the stored scores; the estimates
    are valid and say the model changed; the file is the new model's from then on."""
    config = LiveConfig(update_period_s=10.0, count_downtime=True)
    before = feed(make(model, tmp_path, config), range(STOP_AFTER))
    new = refit(model)
    whole = feed(make(new, tmp_path / "whole", config), range(N_SNAPSHOTS))
    estimator = make(new, tmp_path, config)
    assert not estimator.state_refused
    status = estimator.state_status
    assert status.startswith("migrated") and "onset at" in status
    assert f"RUL model changed rul_prognosis ({model_fingerprint(model)}) -> rul_prognosis " \
           f"({model_fingerprint(new)})" in status
    assert "damage recomputed by the new model" in status
    assert estimator.model_change.memory_kept and estimator.model_change.from_version == 2
    assert estimator.tracker.damage == pytest.approx(whole[STOP_AFTER - 1].damage, rel=1e-12)
    after = feed(estimator, [STOP_AFTER])
    assert "damage recomputed by the new model" in estimator.diagnostics()["rul_note"]
    after += feed(estimator, range(STOP_AFTER + 1, N_SNAPSHOTS))
    assert after[0].elapsed_s == pytest.approx(whole[STOP_AFTER].elapsed_s, abs=1e-6)
    assert after[0].onset_s == before[-1].onset_s == whole[STOP_AFTER].onset_s
    assert all(e.valid and e.evidence == "condition_based" for e in after)
    assert [e.damage for e in after] == pytest.approx([e.damage for e in whole[STOP_AFTER:]])
    assert "damage recomputed by the new model" in after[0].note  # within reference_s of the change
    assert after[-1].note == "" and estimator.diagnostics()["rul_note"] == ""  # 80 s later
    data = json.loads(estimator.state_path.read_text())
    assert data["model_fingerprint"] == model_fingerprint(new) and data["version"] == 2
    [change] = data["state"]["asset"]["model_changes"]
    assert change["old_model"] == f"rul_prognosis ({model_fingerprint(model)})"
    again = make(new, tmp_path, config)  # a later restart: the same model now, no new change
    assert again.state_status.startswith("restored") and again.model_change is None
    assert "RUL model changed" in again.state_status  # the last change is still said


def test_a_model_with_another_reference_after_the_onset_publishes_nothing_valid(
        model, tmp_path):
    """Its damage score would take a degraded bearing's level as the reference: the time and
    the onset are kept, condition-based estimates are not valid (with the reason), until a
    reset; before that nothing else is lost."""
    before = feed(make(model, tmp_path), range(STOP_AFTER))
    other = small_prognosis(reference_s=30.0)
    estimator = make(other, tmp_path)
    assert not estimator.state_refused and not estimator.model_change.memory_kept
    assert "condition-based estimates not valid" in estimator.state_status
    after = feed(estimator, range(STOP_AFTER, STOP_AFTER + 3))
    assert after[0].elapsed_s == pytest.approx(before[-1].elapsed_s + 0.1, abs=1e-6)
    assert after[0].onset_s == before[-1].onset_s
    assert not any(e.valid for e in after)
    assert all(e.distribution.evidence == "not_calibrated" for e in after)
    assert "condition-based estimates not valid" in after[-1].note
    assert "reference" in estimator.diagnostics()["rul_state"]
    restarted = make(other, tmp_path)  # the reason stays with the asset across restarts
    assert restarted.state_status.startswith("restored") and "not valid" in restarted.state_status
    assert not any(e.valid for e in feed(restarted, range(STOP_AFTER + 3, STOP_AFTER + 5)))
    estimator = restarted
    estimator.reset()  # the next bearing
    assert feed(estimator, range(2))[-1].valid


V1_FIXTURE = Path(__file__).resolve().parents[1].parent / "fixtures" / "rul_state_v1"


def _v1_copy(tmp_path) -> Path:
    """test/fixtures/rul_state_v1: written by the release before STATE_VERSION 2 (its code,
    small_prognosis(), femto_chunks 0..21 of asset b1), with its onset reference."""
    root = tmp_path / "v1"
    shutil.copytree(V1_FIXTURE, root)
    data = json.loads((root / "rul_state" / "b1.rul_state.json").read_text())
    assert data["version"] == 1 and "tracker" in data["state"]
    return root


def test_a_version_1_file_of_the_same_model_resumes_exactly(model, tmp_path):
    root = _v1_copy(tmp_path)
    config = LiveConfig(update_period_s=10.0, count_downtime=True)
    whole = feed(make(model, tmp_path / "whole", config), range(N_SNAPSHOTS))
    estimator = make(model, root, config)
    assert estimator.state_status.startswith("restored") and estimator.model_change is None
    after = feed(estimator, range(STOP_AFTER, N_SNAPSHOTS))
    same(whole[STOP_AFTER:], after)
    assert json.loads(estimator.state_path.read_text())["version"] == STATE_VERSION


def test_a_version_1_file_of_a_shipped_model_migrates_with_its_memory(model, tmp_path,
                                                                     monkeypatch):
    """The memory key of the models shipped with version 1 is known (V1_MEMORY_KEYS): such a
    file keeps its damage score under a refit."""
    root = _v1_copy(tmp_path)
    monkeypatch.setitem(rul_state.V1_MEMORY_KEYS, model_fingerprint(model),
                        memory_key(model.onset))
    estimator = make(refit(model), root)
    assert estimator.model_change.memory_kept and estimator.model_change.from_version == 1
    assert estimator.state_status.startswith("migrated")
    after = feed(estimator, range(STOP_AFTER, N_SNAPSHOTS))
    assert all(e.valid and e.evidence == "condition_based" for e in after)


def test_a_version_1_file_of_an_unknown_model_keeps_the_facts_not_the_memory(model, tmp_path):
    root = _v1_copy(tmp_path)
    estimator = make(refit(model), root)
    assert estimator.model_change is not None and not estimator.model_change.memory_kept
    assert estimator.tracker.elapsed_s == pytest.approx(210.1, abs=1e-6)
    assert estimator.tracker.onset.onset_s is not None
    after = feed(estimator, range(STOP_AFTER, STOP_AFTER + 2))
    assert not any(e.valid for e in after) and "not valid" in after[-1].note


def test_reset_forgets_state_and_onset_reference(model, tmp_path):
    estimator = make(model, tmp_path)
    feed(estimator, range(STOP_AFTER))
    reference = ReferenceStore(tmp_path).part("rul_snapshots").path("b1")
    assert reference.exists() and estimator.state_path.exists()
    estimator.reset()
    assert not reference.exists() and not estimator.state_path.exists()
    assert estimator.state_status == "new asset (reset)"
    fresh = make(model, tmp_path)
    assert fresh.state_status.startswith("new asset") and fresh.tracker.elapsed_s == 0.0


def test_a_lost_onset_reference_refuses_the_state(model, tmp_path):
    """A commissioned onset monitor whose reference file is gone would re-commission on a
    damaged bearing: the state is refused instead."""
    _stored(model, tmp_path)
    ReferenceStore(tmp_path).part("rul_snapshots").reset("b1")
    estimator = make(model, tmp_path)
    estimates = feed(estimator, range(STOP_AFTER, STOP_AFTER + 2))
    assert estimator.state_refused and "stored reference is gone" in estimator.state_status
    assert not any(e.valid for e in estimates)


def test_a_replay_started_again_from_its_beginning_still_counts_on(model, tmp_path):
    """Stamps that went back (a recording replayed from its start): the operating time goes
    on from the stored one and the snapshots start afresh (no wait for the old stamps)."""
    before = feed(make(model, tmp_path), range(5))
    again = feed(make(model, tmp_path), range(2))
    assert len(again) == 2
    assert again[0].elapsed_s == pytest.approx(before[-1].elapsed_s + 0.1, abs=1e-6)


def test_a_state_that_cannot_be_saved_is_said_and_the_estimate_still_published(model, tmp_path):
    estimator = make(model, tmp_path)
    (tmp_path / "rul_state").write_text("a file where the folder should be")
    estimates = feed(estimator, range(2))
    assert len(estimates) == 2 and estimates[-1].valid
    assert "last save failed" in estimator.diagnostics()["rul_state"]
    assert estimator.state_saves == 0
