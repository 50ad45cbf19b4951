#!/usr/bin/env bash
# Set up (idempotent) and run the demo: the simulated rig develops a bearing fault while the
# monitor raises alerts; outputs land in output/demo/. Extra arguments go to the demo
# (e.g. --speed 2 --duration 120 --schedule config/fault_schedules/inner_race_nde.yaml).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
# shellcheck source=tools/ros_env.sh
. "$ROOT/tools/ros_env.sh"
cd "$ROOT"
python -m pm_monitor.demo.run_demo "$@"
