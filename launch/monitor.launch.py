"""Start the monitor alone, for integration into a larger system.

ros2 launch pm_monitor monitor.launch.py namespace:=line3 accel:=/press/accel \
    thermal:=/press/thermal/image_raw params_file:=/path/monitor.yaml log_level:=info
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import monitor_spec, share_dir

INPUT_ARGS = {"accel": "accel", "mic": "mic", "thermal": "thermal/image_raw",
              "camera": "camera/image_raw"}


def _nodes(context):
    get = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    spec = monitor_spec(
        namespace=get("namespace"), params_file=get("params_file"),
        input_remaps={topic: get(arg) for arg, topic in INPUT_ARGS.items()},
        parameters={"use_sim_time": get("use_sim_time").lower() == "true"})
    return [Node(package=spec.package, executable=spec.executable, name=spec.name,
                 namespace=spec.namespace, parameters=[*spec.params_files, spec.parameters],
                 remappings=list(spec.remappings), output="screen",
                 arguments=["--ros-args", "--log-level", get("log_level")])]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value=""),
        DeclareLaunchArgument("params_file",
                              default_value=str(share_dir() / "config" / "monitor.yaml")),
        DeclareLaunchArgument("use_sim_time", default_value="false"),
        DeclareLaunchArgument("log_level", default_value="info"),
        *[DeclareLaunchArgument(arg, default_value=topic) for arg, topic in INPUT_ARGS.items()],
        OpaqueFunction(function=_nodes),
    ])
