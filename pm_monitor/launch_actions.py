"""launch / launch_ros actions from the launch plan (imported only by the launch files).

`launch` is not installable from PyPI, so everything that can be decided without it lives in
pm_monitor.launch_plan (tested there); this module only declares the arguments of a launch
file from the plan's table and turns the checked NodeSpecs into Node actions, each with the
exit policy of its spec (an essential node ending in error shuts the whole launch down).
"""
from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from pm_monitor.launch_plan import LAUNCH_ARGUMENTS, NodeSpec, launch_plan


def _node_actions(spec: NodeSpec) -> list:
    node = Node(package=spec.package, executable=spec.executable, name=spec.name,
                namespace=spec.namespace, parameters=[*spec.params_files, spec.parameters],
                remappings=list(spec.remappings), output="screen",
                arguments=[*spec.arguments, "--ros-args", *spec.log_level_args()]
                if spec.log_level else list(spec.arguments))
    if spec.on_exit == "never":
        return [node]

    def on_exit(event, context):
        if spec.on_exit == "always" or event.returncode != 0:
            return [EmitEvent(event=Shutdown(
                reason=f"{spec.name} exited with code {event.returncode}"))]
        return None

    return [node, RegisterEventHandler(OnProcessExit(target_action=node, on_exit=on_exit))]


def describe(launch_file: str) -> LaunchDescription:
    """The LaunchDescription of a launch file: its declared arguments, then one function
    that checks all of them and builds every node (nothing starts if one value is bad)."""

    def build(context):
        given = {a.name: LaunchConfiguration(a.name).perform(context)
                 for a in LAUNCH_ARGUMENTS[launch_file]}
        return [action for spec in launch_plan(launch_file, given)
                for action in _node_actions(spec)]

    return LaunchDescription([
        *[DeclareLaunchArgument(a.name, default_value=a.default,
                                description=a.full_description(), choices=a.launch_choices())
          for a in LAUNCH_ARGUMENTS[launch_file]],
        OpaqueFunction(function=build),
    ])
