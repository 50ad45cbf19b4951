"""The run-to-failure library and the commands that fit RUL models from it.

The library is a JSON-lines file (default models/rul_library/histories.jsonl), one history per
line: {"asset_type", "history_id", "life_s", "failed", "rpm", "load_n", "source"}. "failed":
false marks a run stopped before failure (right-censored: it still tells the prior the asset
lived at least that long).

    python -m pm_monitor.training.rul_library build            # FEMTO's 11 + the rig's schedules
    python -m pm_monitor.training.rul_library add --asset-type pump_bearing --life-s 5.2e6 \
        [--censored] [--rpm 1480 --load-n 3000] [--history-id P-101]
    python -m pm_monitor.training.rul_library fit-prior --asset-type pump_bearing \
        [--rating-n 14000] --out models/rul_pump/rul_prognosis.json
    python -m pm_monitor.evaluation.rul_evaluate --shipped-only  # the shipped FEMTO model

fit-prior builds a prior-only model (no indicator histories: the onset never fires, every
estimate is the population prior, calibrated by leave-one-history-out on the lives).
The full FEMTO model (prior + onset + condition-based + calibration) is fitted on all 11 FEMTO
bearings by pm_monitor.evaluation.rul_evaluate (it needs the any-machine onset states of
evaluation/any_machine/femto_eval), which also measures its held-out quality.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from pm_monitor.core.rul.onset import OnsetConfig
from pm_monitor.core.rul.prior import OperatingCondition
from pm_monitor.core.rul.prognosis import PrognosisModel
from pm_monitor.datasets.femto import ALL_BEARINGS, load_bearing
from pm_monitor.training.rul_fit import FitConfig, _weighted_quantiles, fit_prior
from pm_monitor.training.rul_indicators import REPO_ROOT

LIBRARY = REPO_ROOT / "models" / "rul_library" / "histories.jsonl"
FEMTO_MODEL = REPO_ROOT / "models" / "rul_femto" / "rul_prognosis.json"
RIG_SCHEDULES = REPO_ROOT / "config" / "fault_schedules"
PRIOR_CALIBRATION_FRACTIONS = np.linspace(0.0, 0.95, 20)


def read_library(path: Path = LIBRARY) -> list[dict]:
    if not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_library(entries: Sequence[dict], path: Path = LIBRARY) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))


def entry(asset_type: str, history_id: str, life_s: float, failed: bool = True,
          rpm: float | None = None, load_n: float | None = None, source: str = "") -> dict:
    if not (np.isfinite(life_s) and life_s > 0):
        raise ValueError(f"life_s must be > 0, got {life_s}")
    return {"asset_type": asset_type, "history_id": history_id, "life_s": float(life_s),
            "failed": bool(failed), "rpm": rpm, "load_n": load_n, "source": source}


def femto_entries() -> list[dict]:
    out = []
    for name in ALL_BEARINGS:
        b = load_bearing(name)
        out.append(entry("femto_pronostia", name, b.life_s, True, float(b.rpm), float(b.load_n),
                         "shared/data/femto (end of record = failure)"))
    return out


def rig_entries() -> list[dict]:
    """The simulated rig's fault schedules: failure at failure_s of machine time."""
    out = []
    for path in sorted(RIG_SCHEDULES.glob("*.yaml")):
        faults = (yaml.safe_load(path.read_text()) or {}).get("faults") or []
        for k, fault in enumerate(faults):
            if "failure_s" in fault:
                out.append(entry("sim_rig", f"{path.stem}/{k}", float(fault["failure_s"]), True,
                                 source=f"config/fault_schedules/{path.name}"))
    return out


def prior_only_model(entries: Sequence[dict], config: FitConfig) -> PrognosisModel:
    """A model that can only say what the population says, calibrated on the lives alone."""
    conditions = [OperatingCondition(e.get("rpm"), e.get("load_n")) for e in entries]
    lives = [float(e["life_s"]) for e in entries]
    failed = [bool(e["failed"]) for e in entries]
    if len(entries) < 3:
        raise ValueError("a prior needs at least 3 histories (2 to fit, 1 to calibrate)")
    prior = fit_prior(lives, conditions, failed, config)
    groups = []
    for j in range(len(entries)):
        if not failed[j]:
            continue
        keep = [i for i in range(len(entries)) if i != j]
        inner = fit_prior([lives[i] for i in keep], [conditions[i] for i in keep],
                          [failed[i] for i in keep], config)
        z = []
        for fraction in PRIOR_CALIBRATION_FRACTIONS:
            elapsed = fraction * lives[j]
            mu, sigma = inner.residual(elapsed, conditions[j]).log_moments()
            z.append((np.log(lives[j] - elapsed + 1.0) - mu) / sigma)
        groups.append(np.asarray(z))
    never = OnsetConfig(indicators=config.indicators)  # no health states: never an onset
    return PrognosisModel(prior=prior, onset=never,
                          failure_levels=(1.0,) * len(config.indicators),
                          post_onset_log_mean=None, post_onset_log_std=None,
                          calibration={"population_prior": _weighted_quantiles(groups, 99)},
                          coverage=config.coverage, point_kind=config.point_kind,
                          name=f"rul_prior_{config.asset_type}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=LIBRARY)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="write FEMTO's and the rig's histories into the library")
    add = sub.add_parser("add", help="add one of your own histories")
    add.add_argument("--asset-type", required=True)
    add.add_argument("--life-s", type=float, required=True)
    add.add_argument("--history-id", default="")
    add.add_argument("--censored", action="store_true", help="stopped before failure")
    add.add_argument("--rpm", type=float)
    add.add_argument("--load-n", type=float)
    add.add_argument("--source", default="user")
    fit = sub.add_parser("fit-prior", help="a prior-only model for one asset type")
    fit.add_argument("--asset-type", required=True)
    fit.add_argument("--rating-n", type=float, help="dynamic load rating C (N), if known")
    fit.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        kept = [e for e in read_library(args.library)
                if e["asset_type"] not in ("femto_pronostia", "sim_rig")]
        entries = femto_entries() + rig_entries() + kept
        write_library(entries, args.library)
        print(f"{args.library}: {len(entries)} histories")
    elif args.command == "add":
        entries = read_library(args.library)
        history_id = args.history_id or f"{args.asset_type}/{len(entries)}"
        entries.append(entry(args.asset_type, history_id, args.life_s, not args.censored,
                             args.rpm, args.load_n, args.source))
        write_library(entries, args.library)
        print(f"added {history_id} to {args.library} ({len(entries)} histories)")
    elif args.command == "fit-prior":
        entries = [e for e in read_library(args.library) if e["asset_type"] == args.asset_type]
        config = replace(FitConfig(), asset_type=args.asset_type,
                         dynamic_load_rating_n=args.rating_n)
        model = prior_only_model(entries, config)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        model.save(args.out)
        print(f"{args.out}: Weibull shape {model.prior.shape:.2f}, scale {model.prior.scale:.3g} "
              f"({model.prior.reference}) from {len(entries)} histories")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
