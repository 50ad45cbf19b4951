"""Simulated test rig + monitor: ros2 launch pm_monitor test_rig.launch.py speed_factor:=2.0

The rig publishes under /rig; the monitor listens there (the same NodeSpecs drive the demo,
tools/run_demo.sh, so what this starts is tested without `launch`)."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import config_file, simulated_rig_plan


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    specs = simulated_rig_plan(fault_schedule=get("fault_schedule"),
                               speed_factor=float(get("speed_factor")),
                               duration_s=float(get("duration_s")), seed=int(get("seed")))
    return [Node(package=s.package, executable=s.executable, name=s.name,
                 namespace=s.namespace, parameters=[*s.params_files, s.parameters],
                 remappings=list(s.remappings), output="screen") for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("fault_schedule", default_value=""),
        DeclareLaunchArgument("speed_factor", default_value="1.0"),
        DeclareLaunchArgument("duration_s", default_value="0.0"),
        DeclareLaunchArgument("seed", default_value="0"),
        # RViz with the camera, thermal, heatmap and asset-marker layout (off by default)
        DeclareLaunchArgument("rviz", default_value="false"),
        OpaqueFunction(function=_nodes),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
             arguments=["-d", config_file("pm_monitor.rviz")],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
