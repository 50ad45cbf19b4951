"""The monitor on an inspection robot (robot driver topics, robot profile config).

ros2 launch pm_monitor inspection_robot.launch.py asset_id:=pump_7 namespace:=inspection
    [asset_file:=/path/pump_7.yaml]   (default: config/assets/<asset_id>.yaml when shipped)

With a lifecycle manager on the robot (nav2_lifecycle_manager): autostart:=false and add
'inspection/pm_monitor' to its node_names.

Every argument, its description and allowed values: --show-args (the table is
pm_monitor.launch_plan.LAUNCH_ARGUMENTS; a bad value stops the launch before any node starts).
"""
from pm_monitor.launch_actions import describe


def generate_launch_description():
    return describe("inspection_robot.launch.py")
