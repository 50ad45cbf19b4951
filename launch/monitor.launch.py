"""Start the monitor alone, for integration into a larger system.

ros2 launch pm_monitor monitor.launch.py namespace:=line3 accel:=/press/accel \
    thermal:=/press/thermal/image_raw params_file:=/path/monitor.yaml log_level:=info

autostart:=false leaves the (lifecycle) monitor unconfigured for a lifecycle manager, e.g.
nav2_lifecycle_manager with node_names: ['line3/pm_monitor'].
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import INPUT_ARGUMENTS, config_file, monitor_spec


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    spec = monitor_spec(
        namespace=get("namespace"), params_file=get("params_file"),
        input_remaps={topic: get(arg) for arg, topic in INPUT_ARGUMENTS.items()},
        parameters={"use_sim_time": get("use_sim_time").lower() == "true",
                    "autostart": get("autostart").lower() == "true"},
        log_level=get("log_level"))
    return [Node(package=spec.package, executable=spec.executable, name=spec.name,
                 namespace=spec.namespace, parameters=[*spec.params_files, spec.parameters],
                 remappings=list(spec.remappings), output="screen",
                 arguments=["--ros-args", "--log-level", spec.log_level])]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value=""),
        DeclareLaunchArgument("params_file", default_value=config_file("monitor.yaml")),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        DeclareLaunchArgument("autostart", default_value="true"),
        DeclareLaunchArgument("log_level", default_value="info"),
        *[DeclareLaunchArgument(arg, default_value=topic)
          for arg, topic in INPUT_ARGUMENTS.items()],
        # RViz with the camera, thermal, heatmap and asset-marker layout (off by default)
        DeclareLaunchArgument("rviz", default_value="false"),
        OpaqueFunction(function=_nodes),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
             arguments=["-d", config_file("pm_monitor.rviz")],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
