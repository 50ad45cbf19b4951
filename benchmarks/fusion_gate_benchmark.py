"""Cost of the fusion gate ([P1] gate weights + modality bias) per explanation, one thread.

Streams a simulated rig fault run (fresh seed) through the cascade and, for every not-normal
decision, times the FusionGates hook alone (with the thermal frame and without), and explain()
with and without the hook. Prints the medians / p95 in ms and the final running bias.

    python benchmarks/fusion_gate_benchmark.py [--repeats 20]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pm_monitor.core.cascade import Cascade
from pm_monitor.core.explain.explainer import Explainer, ExplainerConfig
from pm_monitor.core.explain.fusion_gates import rig_fusion_gates
from pm_monitor.core.models.bundle import load_bundle
from pm_monitor.core.types import HealthState
from pm_monitor.sim import FaultSchedule, RigConfig, RigSimulator, ScheduledFault
from pm_monitor.training.rig_dataset import rig_window

ROOT = Path(__file__).resolve().parents[1]


def _ms(samples: list[float]) -> str:
    values = np.asarray(samples) * 1e3
    return f"median {np.median(values):.2f} ms, p95 {np.percentile(values, 95):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per decision")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(ROOT / "models/rig_baseline")
    gates = rig_fusion_gates(bundle, ROOT / "models/fusion/full.pt")
    config = ExplainerConfig()
    plain = Explainer.from_bundle(bundle, config=config)
    gated = Explainer.from_bundle(bundle, config=config, modality_gates=gates)
    fault = ScheduledFault("outer_race", "de_bearing", 5.0, 40.0, 2.0)
    simulator = RigSimulator(RigConfig(), FaultSchedule((fault,), "bench"), seed=7_601)
    cascade = Cascade(bundle)
    decisions = []
    for i in range(90):
        window = rig_window(simulator, 1.0 + 0.5 * i, bundle.window_s)
        result = cascade.process(window)
        if result.state != HealthState.NORMAL:
            decisions.append((result, window.frames))
    hook, hook_blind, explain_plain, explain_gated = [], [], [], []
    for result, frames in decisions:
        for _ in range(args.repeats):
            for store, given in ((hook, frames), (hook_blind, {})):
                start = time.perf_counter()
                gates(result, given)
                store.append(time.perf_counter() - start)
    gates.reset()  # the explanations' running bias: over the explained decisions only
    for result, frames in decisions:
        for store, explainer in ((explain_plain, plain), (explain_gated, gated)):
            start = time.perf_counter()
            explanation = explainer.explain(result, frames)
            store.append(time.perf_counter() - start)
    print(f"{len(decisions)} not-normal decisions, {args.repeats} timed hook calls each, "
          f"torch threads {torch.get_num_threads()}")
    print(f"gate hook, with thermal frame:    {_ms(hook)}")
    print(f"gate hook, without thermal frame: {_ms(hook_blind)}")
    print(f"explain() without gate:           {_ms(explain_plain)}")
    print(f"explain() with gate:              {_ms(explain_gated)}")
    print(f"last explanation: {explanation.summary}")


if __name__ == "__main__":
    main()
