"""pm_monitor: predictive-maintenance monitoring for ROS 2.

`pm_monitor.core` is the runtime core (no rclpy, nothing offline); `pm_monitor.nodes` is the
thin ROS layer; `sim`, `datasets` and `replay` are data sources beside the core; `report` scores
and draws recorded runs; `training` and `evaluation` are offline. The import rules are in
docs/architecture.md and enforced by test/test_import_rules.py.
"""
# The generated message module (pm_monitor.msg) lives in the colcon install space, while the
# Python sources may be imported from the source tree (tests, editable use). Extending the
# package path merges every `pm_monitor` directory on sys.path, so both are found.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"
