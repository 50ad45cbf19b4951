"""Simulated test rig + monitor: ros2 launch pm_monitor test_rig.launch.py speed_factor:=2.0

The rig publishes under /rig; the monitor listens there (the same NodeSpecs drive the demo,
tools/run_demo.sh, so what this starts is tested without `launch`).

Every argument, its description and allowed values: --show-args (the table is
pm_monitor.launch_plan.LAUNCH_ARGUMENTS; a bad value stops the launch before any node starts).
"""
from pm_monitor.launch_actions import describe


def generate_launch_description():
    return describe("test_rig.launch.py")
