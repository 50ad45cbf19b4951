"""Real FEMTO bearing -> RUL: ros2 launch pm_monitor femto_rul.launch.py bearing:=Bearing1_3

The replay streams the recorded bearing as accelerometer chunks; rul_node publishes its
remaining useful life with an 80 % interval on /rul_node/rul. The node plan lives in
pm_monitor.launch_plan (tested without `launch`; the RUL demo runs the same specs). Remap a
monitor's rul_in to /rul_node/rul to attach these estimates to its alerts."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import femto_rul_plan


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    specs = femto_rul_plan(bearing=get("bearing"), speed_factor=float(get("speed_factor")))
    return [Node(package=s.package, executable=s.executable, name=s.name,
                 namespace=s.namespace, parameters=[*s.params_files, s.parameters],
                 remappings=list(s.remappings), output="screen") for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("bearing", default_value="Bearing3_3"),
        DeclareLaunchArgument("speed_factor", default_value="100.0"),
        OpaqueFunction(function=_nodes),
    ])
