"""Start the monitor alone, for integration into a larger system.

ros2 launch pm_monitor monitor.launch.py namespace:=line3 accel:=/press/accel \
    thermal:=/press/thermal/image_raw rul_in:=/rul_node/rul params_file:=/path/monitor.yaml

autostart:=false leaves the (lifecycle) monitor unconfigured for a lifecycle manager, e.g.
nav2_lifecycle_manager with node_names: ['line3/pm_monitor'].

Every argument, its description and allowed values: --show-args (the table is
pm_monitor.launch_plan.LAUNCH_ARGUMENTS; a bad value stops the launch before any node starts).
"""
from pm_monitor.launch_actions import describe


def generate_launch_description():
    return describe("monitor.launch.py")
