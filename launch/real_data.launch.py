"""Recorded real data through the monitor: ros2 launch pm_monitor real_data.launch.py

A FEMTO bearing (run to failure, snapshots back to back), thermal motor frames, NEU steel
images and MIMII fan sound are replayed on one timeline; the monitor runs the real-data
profile (models/real_data: every model trained and measured on these public data sets) and
publishes its health, alerts, heatmaps and explanations as on the rig. The node plan lives
in pm_monitor.launch_plan (tested without `launch`; the real-data demo runs the same specs)."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import real_data_plan


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    specs = real_data_plan(bearing=get("bearing"), speed_factor=float(get("speed_factor")))
    return [Node(package=s.package, executable=s.executable, name=s.name,
                 namespace=s.namespace, parameters=[*s.params_files, s.parameters],
                 remappings=list(s.remappings), output="screen") for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("bearing", default_value="Bearing1_3"),
        DeclareLaunchArgument("speed_factor", default_value="1.0"),
        OpaqueFunction(function=_nodes),
    ])
