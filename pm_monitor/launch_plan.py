"""What the launch files start, as plain data: testable and runnable without `launch`.

`launch` / `launch_ros` are not installable from PyPI, so the launch files in launch/ only
turn these NodeSpecs into launch_ros Node actions, and the demo runner turns the same specs
into command lines. Both paths start exactly the same executables, parameters and remappings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "pm_monitor"

# Inputs of the monitor (relative names, remappable) and where the simulated rig publishes.
MONITOR_INPUTS = ("accel", "mic", "thermal/image_raw", "camera/image_raw")


@dataclass(frozen=True)
class NodeSpec:
    executable: str
    name: str
    namespace: str = ""
    params_files: tuple[str, ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    package: str = PACKAGE

    def ros_args(self) -> list[str]:
        """The `--ros-args ...` a process needs to run as this spec (what launch_ros passes)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:={self.namespace}"]
        for path in self.params_files:
            args += ["--params-file", path]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={_param_literal(value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return args


def _param_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value else "''"
    return str(value)


def share_dir() -> Path:
    """Installed share/pm_monitor, else the source tree (same layout: config/, models/)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except (ImportError, LookupError):
        return Path(__file__).resolve().parents[1]


def monitor_spec(namespace: str = "", params_file: str | None = None,
                 input_remaps: dict[str, str] | None = None,
                 parameters: dict[str, object] | None = None) -> NodeSpec:
    """The monitor alone, for integration into a larger system (inputs remapped)."""
    params_file = params_file or str(share_dir() / "config" / "monitor.yaml")
    remaps = tuple((name, target) for name, target in (input_remaps or {}).items())
    unknown = {name for name, _ in remaps} - set(MONITOR_INPUTS)
    if unknown:
        raise ValueError(f"unknown monitor inputs {sorted(unknown)}; known: {MONITOR_INPUTS}")
    return NodeSpec("monitor_node", "pm_monitor", namespace, (params_file,),
                    dict(parameters or {}), remaps)


def simulated_rig_plan(fault_schedule: str = "", speed_factor: float = 1.0,
                      duration_s: float = 0.0, seed: int = 0,
                      monitor_parameters: dict[str, object] | None = None,
                      wait_for_subscribers: bool = False) -> list[NodeSpec]:
    """Simulated rig (sensors under /rig) + the monitor listening to it.

    wait_for_subscribers holds the rig's clock until the monitor is connected (the demo and
    tests use it so that no data is lost to discovery)."""
    share = share_dir()
    schedule = fault_schedule or str(share / "config" / "fault_schedules" / "demo_outer_race.yaml")
    rig = NodeSpec("rig_node", "rig", "", (str(share / "config" / "rig.yaml"),),
                   {"fault_schedule": schedule, "speed_factor": float(speed_factor),
                    "duration_s": float(duration_s), "seed": int(seed),
                    "wait_for_subscribers": bool(wait_for_subscribers)},
                   tuple((name, f"/rig/{name}") for name in MONITOR_INPUTS))
    monitor = monitor_spec(input_remaps={name: f"/rig/{name}" for name in MONITOR_INPUTS},
                           parameters=monitor_parameters)
    return [rig, monitor]
