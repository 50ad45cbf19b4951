#!/usr/bin/env bash
# TensorRT check on a machine with an NVIDIA GPU: engines, parity tests, latency benchmark.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        (default OUT_DIR: results/latency/gpu)
#
# Needs a CUDA build of torch in the active Python (the TensorRT runner's buffers are torch CUDA
# tensors). Installs the tensorrt wheel if it is missing and the network allows; without it the
# TensorRT steps report "unavailable" and the rest still runs (ONNX Runtime, torch).
# Each step's output goes to OUT_DIR; the script never stops at the first failure, it reports
# every step's exit status at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/latency/gpu}
PY=${PYTHON:-python3}
TENSORRT_WHEEL=${TENSORRT_WHEEL:-tensorrt-cu12==10.16.1.11}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PM_MONITOR_CACHE="$OUT/cache"
mkdir -p "$OUT"
declare -A STATUS

step() {  # step NAME COMMAND... : run, tee to OUT/NAME.txt, remember the exit status
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$OUT/$name.txt"
  STATUS[$name]="rc=${PIPESTATUS[0]} $((SECONDS - start)) s"
}

step gpu nvidia-smi
step torch_cuda "$PY" -c "import torch; print(torch.__version__, torch.version.cuda); \
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO CUDA DEVICE')"
if ! "$PY" -c "import tensorrt" 2>/dev/null; then
  step install_tensorrt "$PY" -m pip install "$TENSORRT_WHEEL"
fi
step versions "$PY" -c "import onnxruntime as o; print('onnxruntime', o.__version__, \
o.get_available_providers()); import tensorrt as t; print('tensorrt', t.__version__)"
# Engines: first build (shows TensorRT's progress), then a second start that must load them.
step engines_fp16_build "$PY" -m pm_monitor.core.inference --backend tensorrt --precision fp16
step engines_fp16_cached "$PY" -m pm_monitor.core.inference --backend tensorrt --precision fp16
step engines_int8_build "$PY" -m pm_monitor.core.inference --backend tensorrt --precision int8
step auto_selection "$PY" -m pm_monitor.core.inference --backend auto --precision fp16
step parity "$PY" -m pytest -q -p no:cacheprovider -rs test/core/inference/
step latency "$PY" benchmarks/latency.py --backends torch,onnxruntime,tensorrt --out "$OUT"

echo "== summary (outputs in $OUT)"
for name in gpu torch_cuda install_tensorrt versions engines_fp16_build engines_fp16_cached \
            engines_int8_build auto_selection parity latency; do
  [[ -n "${STATUS[$name]:-}" ]] && printf '%-22s %s\n' "$name" "${STATUS[$name]}"
done | tee "$OUT/summary.txt"
