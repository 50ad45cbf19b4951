"""What a restart costs the RUL: real FEMTO bearings through the live estimator, once without a
stop and once stopped and restored (core/rul/state.py) at several points of life; plus what the
state file costs (write time per estimate, size, restore time).

For each bearing and each stop point (fractions of life, and the first estimate after the
detected onset): the estimates after the restart against the uninterrupted run's (max |delta|
of the point and of the interval bounds, evidence / valid / onset mismatches). The node runs
with count_downtime (FEMTO takes 0.1 s every 10 s: the machine runs between snapshots).

    PYTHONPATH=$PWD python benchmarks/rul_state_benchmark.py [--bearings Bearing3_3 ...]
Writes results/rul_state/restart.json and restart.md.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from pm_monitor.core.assets.description import load as load_asset
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.rul.live import LiveConfig, LiveRulEstimator
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.core.rul.state import RulStateStore
from pm_monitor.datasets.femto import load_bearing

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "rul_femto" / "rul_prognosis.json"
ASSET = ROOT / "config" / "assets" / "femto_bearing.yaml"
EPOCH_NS = 1_700_000_000 * 10**9
FRACTIONS = (0.25, 0.5, 0.75, 0.9)


class TimedStore(RulStateStore):
    """The state store, timing each save (serialisation + atomic write with fsync) and
    recording each file's size."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.save_ms: list[float] = []
        self.sizes: list[int] = []

    def save(self, asset_id: str, content: dict) -> Path:
        started = time.perf_counter()
        path = super().save(asset_id, content)
        self.save_ms.append((time.perf_counter() - started) * 1e3)
        self.sizes.append(path.stat().st_size)
        return path


def chunks(bearing):
    """One chunk per snapshot (what replay_node sends, in one piece), message time."""
    acc, t_s, index = bearing.acc_g, bearing.t_s, bearing.snapshot_index
    for k in range(bearing.n_snapshots):
        yield (EPOCH_NS + round(t_s[k] * 1e9), int(index[k]) * acc.shape[1],
               acc[k].reshape(-1))


def estimator(model, bearing, root: Path | None) -> LiveRulEstimator:
    config = LiveConfig(update_period_s=10.0, rpm=bearing.rpm, load_n=bearing.load_n,
                        count_downtime=True)
    stores = ((ReferenceStore(root).part("rul_snapshots"), TimedStore(root / "rul_state"))
              if root is not None else (None, None))
    return LiveRulEstimator(model, config, load_asset(ASSET), *stores, asset_id="bearing")


def feed(live: LiveRulEstimator, items, fs: float) -> tuple[list, float]:
    out, started = [], time.perf_counter()
    for stamp, first, samples in items:
        out += live.on_chunk(stamp, fs, ["horizontal", "vertical"], "g", first, samples)
    return out, time.perf_counter() - started


def compare(whole: list, resumed: list) -> dict:
    """The restored run's estimates against the uninterrupted run's, at the same stamps."""
    by_stamp = {e.stamp_ns: e for e in whole}
    pairs = [(by_stamp[e.stamp_ns], e) for e in resumed]
    delta = [max(abs(a.rul_s - b.rul_s), abs(a.lower_s - b.lower_s), abs(a.upper_s - b.upper_s))
             for a, b in pairs]
    return {"estimates_after": len(resumed), "same_stamps": len(pairs) == len(resumed),
            "max_abs_delta_s": float(max(delta, default=0.0)),
            "evidence_or_valid_mismatches": sum(
                (a.evidence, a.valid, a.onset_s) != (b.evidence, b.valid, b.onset_s)
                for a, b in pairs)}


def run_bearing(model, name: str) -> dict:
    bearing = load_bearing(name)
    items = list(chunks(bearing))
    n = len(items)
    baseline, base_s = feed(estimator(model, bearing, None), items, bearing.fs)
    with tempfile.TemporaryDirectory() as tmp:
        kept = estimator(model, bearing, Path(tmp))
        whole, kept_s = feed(kept, items, bearing.fs)
        save_ms, sizes = np.asarray(kept.state_store.save_ms), kept.state_store.sizes
        # the estimator's own timing: tracker to_dict + JSON + atomic write, per estimate
        whole_save_ms = kept.state_save_ms_sum / max(kept.state_saves, 1)
    onset_k = next((k for k, e in enumerate(whole) if e.onset_s is not None), None)
    stops = {f"{f:.0%} of life": int(f * n) for f in FRACTIONS}
    if onset_k is not None:
        stops["just after the onset"] = onset_k + 1
    rows = {}
    for label, k in stops.items():
        with tempfile.TemporaryDirectory() as tmp:
            before, _ = feed(estimator(model, bearing, Path(tmp)), items[:k], bearing.fs)
            started = time.perf_counter()
            restored = estimator(model, bearing, Path(tmp))
            restore_ms = (time.perf_counter() - started) * 1e3
            after, _ = feed(restored, items[k:], bearing.fs)
        row = compare(whole, after)
        row.update({"stop_after_snapshot": k, "restore_ms": restore_ms,
                    "status": restored.state_status.split(":")[0],
                    "before_equal": compare(whole, before)["max_abs_delta_s"] == 0.0})
        rows[label] = row
    same_without_store = compare(baseline, whole)["max_abs_delta_s"]
    return {"bearing": name, "snapshots": n, "onset_snapshot": onset_k,
            "ms_per_estimate_without_state": 1e3 * base_s / max(len(baseline), 1),
            "ms_per_estimate_with_state": 1e3 * kept_s / max(len(whole), 1),
            "state_saves": len(save_ms), "state_ms_mean_all_in": whole_save_ms,
            "save_ms_median": float(np.median(save_ms)),
            "save_ms_p99": float(np.percentile(save_ms, 99)),
            "save_ms_max": float(save_ms.max()),
            "state_file_bytes_max": max(sizes), "state_file_bytes_last": sizes[-1],
            "with_state_equals_without_max_delta_s": same_without_store, "restarts": rows}


def markdown(results: list[dict]) -> str:
    lines = ["| bearing | stop | estimates after | max abs delta (s) | evidence/valid/onset "
             "mismatches | restore (ms) |", "|---|---|---|---|---|---|"]
    for r in results:
        for label, row in r["restarts"].items():
            lines.append(f"| {r['bearing']} | {label} (snapshot {row['stop_after_snapshot']}) | "
                         f"{row['estimates_after']} | {row['max_abs_delta_s']:.3g} | "
                         f"{row['evidence_or_valid_mismatches']} | {row['restore_ms']:.1f} |")
    lines += ["", "| bearing | ms / estimate without state | with state | state ms / estimate "
              "(to_dict + write) | write median / p99 / max (ms) | state file max / last "
              "(bytes) | onset snapshot |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['bearing']} | {r['ms_per_estimate_without_state']:.2f} | "
                     f"{r['ms_per_estimate_with_state']:.2f} | "
                     f"{r['state_ms_mean_all_in']:.2f} | {r['save_ms_median']:.2f} / "
                     f"{r['save_ms_p99']:.2f} / {r['save_ms_max']:.2f} | "
                     f"{r['state_file_bytes_max']} / {r['state_file_bytes_last']} | "
                     f"{r['onset_snapshot']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bearings", nargs="+", default=["Bearing3_3", "Bearing1_3"])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "rul_state")
    args = parser.parse_args()
    model = PrognosisModel.load(MODEL)
    results = []
    for name in args.bearings:
        results.append(run_bearing(model, name))
        print(json.dumps(results[-1], indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "restart.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "restart.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
