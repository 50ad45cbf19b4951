"""The monitor on an inspection robot (robot driver topics, robot profile config).

ros2 launch pm_monitor inspection_robot.launch.py asset_id:=pump_7 namespace:=inspection
    [asset_file:=/path/pump_7.yaml]   (default: config/assets/<asset_id>.yaml when shipped)

With a lifecycle manager on the robot (nav2_lifecycle_manager): autostart:=false and add
'inspection/pm_monitor' to its node_names.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import config_file, inspection_robot_plan


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    specs = inspection_robot_plan(namespace=get("namespace"), asset_id=get("asset_id"),
                                  params_file=get("params_file"),
                                  autostart=get("autostart").lower() == "true",
                                  use_sim_time=get("use_sim_time").lower() == "true",
                                  log_level=get("log_level"), asset_file=get("asset_file"))
    return [Node(package=s.package, executable=s.executable, name=s.name,
                 namespace=s.namespace, parameters=[*s.params_files, s.parameters],
                 remappings=list(s.remappings), output="screen",
                 arguments=["--ros-args", "--log-level", s.log_level]) for s in specs]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="inspection"),
        DeclareLaunchArgument("asset_id", default_value=""),
        DeclareLaunchArgument("asset_file", default_value=""),
        DeclareLaunchArgument("params_file",
                              default_value=config_file("inspection_robot.yaml")),
        DeclareLaunchArgument("autostart", default_value="true"),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        DeclareLaunchArgument("log_level", default_value="info"),
        OpaqueFunction(function=_nodes),
    ])
