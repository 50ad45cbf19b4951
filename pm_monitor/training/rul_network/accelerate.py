"""The FEMTO RUL ensemble on the inference backends (ONNX Runtime, TensorRT, torch).

Each ensemble member is its own exported graph (its own weights, so its own ONNX / engine
cache entry); `accelerate(ensemble, InferenceConfig(backend="auto"))` builds a runner per
member through the generic layer (export, sanity check against torch, fallback, warm-up) and
makes `RulEnsemble.member_outputs` use them. The torch members stay as the reference.
"""
from __future__ import annotations

from pm_monitor.core.inference import InferenceConfig, ModelSpec, TensorSpec, build_runner
from pm_monitor.training.rul_network.ensemble import RulEnsemble
from pm_monitor.training.rul_network.network import OUTPUT_NAMES, NetConfig

INPUT_NAMES = ("images", "features")
OUTPUT_NAME = "rul_normalised"  # (batch, len(OUTPUT_NAMES)): piecewise and linear targets
MAX_BATCH = 64  # TensorRT profile; member_outputs feeds batches of at most this


def rul_member_spec(cfg: NetConfig, index: int) -> ModelSpec:
    return ModelSpec(
        name=f"rul_femto_member{index}",
        inputs=(TensorSpec("images", ("batch", cfg.steps, cfg.levels, cfg.image_width)),
                TensorSpec("features", ("batch", cfg.steps, cfg.n_features))),
        outputs=(OUTPUT_NAME,),
        wrap=lambda model: model,
        dim_ranges={"batch": (1, 1, MAX_BATCH)},
    )


def accelerate(ensemble: RulEnsemble, config: InferenceConfig) -> list[str]:
    """Run the ensemble's members on config.backend (or the best/first backend that works);
    returns the report of what was tried and chosen, for the node's log."""
    runners, report = [], []
    for index, member in enumerate(ensemble.members):
        built = build_runner(rul_member_spec(ensemble.net_config, index), member, config)
        runners.append(built.runner)
        report += built.report
    ensemble.use_runners(runners)
    return report


__all__ = ["INPUT_NAMES", "OUTPUT_NAME", "OUTPUT_NAMES", "accelerate", "rul_member_spec"]
