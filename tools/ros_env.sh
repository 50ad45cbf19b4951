# Source this (bash): environment for the ROS 2 wheels in VENV and this package's install space.
# No global setup script exists for the PyPI wheels; see ../shared/notes/ros2-from-pypi.md.
_pm_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_v=$(cd "${1:-${PM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pm_monitor/venv-py311}}" && pwd)
. "$_v/bin/activate"
_sp=$("$_v/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
_libs="$_v/lib"; for d in "$_sp"/ros_*.libs; do [ -d "$d" ] && _libs="$_libs:$d"; done
# Setting LD_LIBRARY_PATH ourselves skips the wheels' re-exec bootstrap and covers cmake/colcon.
export LD_LIBRARY_PATH="$_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
export AMENT_PREFIX_PATH="$_v${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$_v${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export ROS_VERSION=2 ROS_PYTHON_VERSION=3 ROS_DISTRO=jazzy
export RMW_IMPLEMENTATION=${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}
# Discovery stays on loopback; a per-shell domain id keeps parallel runs apart.
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( $$ % 100 + 1 ))}
export ROS_LOG_DIR=${ROS_LOG_DIR:-${TMPDIR:-/tmp}/pm-ros-log-$$}; mkdir -p "$ROS_LOG_DIR"
_ws=${PM_WS:-$_pm_root/.ros_ws}
if [ -f "$_ws/install/setup.sh" ]; then
  # colcon's setup.sh is not `set -u` clean
  case $- in *u*) set +u; . "$_ws/install/setup.sh"; set -u ;; *) . "$_ws/install/setup.sh" ;; esac
fi
unset _v _sp _libs _ws _pm_root
