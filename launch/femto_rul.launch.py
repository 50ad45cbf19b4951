"""Real FEMTO bearing -> RUL: ros2 launch pm_monitor femto_rul.launch.py bearing:=Bearing1_3

The replay streams the recorded bearing as accelerometer chunks; rul_node publishes its
remaining useful life with an 80 % interval on /rul_node/rul. The node plan lives in
pm_monitor.launch_plan (tested without `launch`; the RUL demo runs the same specs). Remap a
monitor's rul_in to /rul_node/rul to attach these estimates to its alerts.

Every argument, its description and allowed values: --show-args (the table is
pm_monitor.launch_plan.LAUNCH_ARGUMENTS; a bad value stops the launch before any node starts).
"""
from pm_monitor.launch_actions import describe


def generate_launch_description():
    return describe("femto_rul.launch.py")
