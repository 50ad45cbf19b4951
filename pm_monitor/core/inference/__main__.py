"""Prepare a model set's networks on a backend ahead of time and say what was chosen.

python -m pm_monitor.core.inference --model-dir models/rig_baseline --backend tensorrt \
    --precision fp16 [--cache-dir DIR] [--force-engine-update]

--model-dir: a rig bundle (metadata.json) or a real-data profile (profile.json, e.g.
models/real_data).

Exports the ONNX graphs, builds (or loads) TensorRT engines, warms up, prints the selection
report and how long each step took. Run it once after installing on a robot so the node
starts without a minutes-long engine build.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from pm_monitor.core.inference.backend import BACKENDS, PRECISIONS, InferenceConfig
from pm_monitor.core.inference.cascade_models import rig_network_set
from pm_monitor.core.inference.network_set import NetworkSet
from pm_monitor.core.inference.realdata_networks import real_data_networks
from pm_monitor.core.models.bundle import load_bundle

PROFILE_FILE = "profile.json"


def network_set_of(model_dir: Path, config: InferenceConfig) -> NetworkSet:
    """The networks of the model set in model_dir on `config`."""
    if (model_dir / PROFILE_FILE).is_file():
        from pm_monitor.core.realdata.profile import load_real_profile

        return NetworkSet.create(real_data_networks(load_real_profile(model_dir / PROFILE_FILE)),
                                 config)
    return rig_network_set(load_bundle(model_dir), config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="models/rig_baseline")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16")
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--force-engine-update", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="as the monitor node's inference_threads (auto times torch too)")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = InferenceConfig(backend=args.backend, precision=args.precision,
                             engine_cache_dir=args.cache_dir,
                             force_engine_update=args.force_engine_update)
    start = time.monotonic()
    models = network_set_of(Path(args.model_dir), config)
    print(f"prepared in {time.monotonic() - start:.1f} s (cache {config.cache_dir}): "
          f"{models.summary()}")
    for line in models.report:
        print("  " + line)


if __name__ == "__main__":
    main()
