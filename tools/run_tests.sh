#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint, pure-core tests, ROS node tests,
# cross-process test. Extra arguments go to pytest (e.g. -k sync).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
# shellcheck source=tools/ros_env.sh
. "$ROOT/tools/ros_env.sh" ""  # "": not this script's own arguments
cd "$ROOT"
echo "[tests] ruff"
ruff check .
echo "[tests] pytest"
python -m pytest test -q -p no:cacheprovider --timeout=600 "$@"
