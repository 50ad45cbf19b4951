"""Recorded real data through the monitor: ros2 launch pm_monitor real_data.launch.py

A FEMTO bearing (run to failure, snapshots back to back), thermal motor frames, NEU steel
images and MIMII fan sound are replayed on one timeline; the monitor runs the real-data
profile (models/real_data: every model trained and measured on these public data sets) and
publishes its health, alerts, heatmaps and explanations as on the rig. The node plan lives
in pm_monitor.launch_plan (tested without `launch`; the real-data demo runs the same specs).

Every argument, its description and allowed values: --show-args (the table is
pm_monitor.launch_plan.LAUNCH_ARGUMENTS; a bad value stops the launch before any node starts).
"""
from pm_monitor.launch_actions import describe


def generate_launch_description():
    return describe("real_data.launch.py")
