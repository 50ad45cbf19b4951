#!/usr/bin/env bash
# Set up (idempotent) and run the demos:
#  1. the simulated rig develops a bearing fault while the monitor raises alerts, heatmaps,
#     explanations and RUL (output/demo/); extra arguments go to this one
#     (e.g. --speed 2 --duration 120 --schedule config/fault_schedules/inner_race_nde.yaml);
#  2. a real FEMTO run-to-failure bearing is replayed through rul_node (output/femto_rul/);
#     PM_DEMO_FEMTO_BEARING=Bearing1_3 picks another bearing, =none skips it;
#  3. recorded real data (a FEMTO bearing the health-state model never saw, thermal motor
#     frames, NEU steel images, MIMII fan sound) through the monitor running the models
#     trained on those data sets (output/real_data/); PM_DEMO_REAL_BEARING=none skips it;
#  4. a recorded FEMTO bearing as a brand-new asset: the physics model set with an empty
#     reference commissions from its first minutes, then alarms with physics evidence
#     (output/any_machine_demo/); PM_DEMO_NEW_ASSET=Bearing1_3 picks another, =none skips it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
# shellcheck source=tools/ros_env.sh
. "$ROOT/tools/ros_env.sh" ""  # "": not this script's own arguments
cd "$ROOT"
python -m pm_monitor.demo.run_demo "$@"
bearing=${PM_DEMO_FEMTO_BEARING:-Bearing3_3}
if [ "$bearing" != none ]; then
  python -m pm_monitor.demo.run_femto_demo --bearing "$bearing" --speed 100
fi
real_bearing=${PM_DEMO_REAL_BEARING:-Bearing1_3}
if [ "$real_bearing" != none ]; then
  python -m pm_monitor.demo.run_real_demo --bearing "$real_bearing" --speed 2
fi
new_asset=${PM_DEMO_NEW_ASSET:-Bearing3_3}
if [ "$new_asset" != none ]; then
  python -m pm_monitor.demo.run_new_asset_demo --bearing "$new_asset" --speed 1
fi
