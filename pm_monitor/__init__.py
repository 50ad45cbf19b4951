"""pm_monitor: predictive-maintenance monitoring for ROS 2.

`pm_monitor.core` is the pure core (no rclpy); `pm_monitor.nodes` is the thin ROS layer.
"""
# The generated message module (pm_monitor.msg) lives in the colcon install space, while the
# Python sources may be imported from the source tree (tests, editable use). Extending the
# package path merges every `pm_monitor` directory on sys.path, so both are found.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"
