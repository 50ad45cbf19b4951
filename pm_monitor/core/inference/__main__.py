"""Prepare a model set's networks on a backend ahead of time and say what was chosen.

python -m pm_monitor.core.inference --model-dir models/rig_baseline --backend tensorrt \
    --precision fp16 [--cache-dir DIR] [--force-engine-update]

--model-dir: any model set (a directory with model_set.json: models/rig_baseline,
models/real_data); it is loaded as the monitor loads it, so its report is the node's.

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
    # imported here: the model sets sit above the inference layer
    from pm_monitor.core.model_set import load_model_set

    start = time.monotonic()
    models = load_model_set(Path(args.model_dir), config)
    print(f"prepared in {time.monotonic() - start:.1f} s (cache {config.cache_dir}): "
          f"{models.backend_summary()}")
    for line in models.describe():
        print("  " + line)


if __name__ == "__main__":
    main()
