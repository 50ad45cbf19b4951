"""What the launch files start, as plain data: testable and runnable without `launch`.

`launch` / `launch_ros` are not installable from PyPI, so the launch files in launch/ only
turn these NodeSpecs into launch_ros Node actions, and the demo runner turns the same specs
into command lines. Both paths start exactly the same executables, parameters and remappings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "pm_monitor"

# Inputs of the monitor (relative names, remappable) and where the simulated rig publishes.
MONITOR_INPUTS = ("accel", "mic", "thermal/image_raw", "camera/image_raw")
# Launch-argument name of each input (monitor.launch.py accel:=/press/accel ...).
INPUT_ARGUMENTS = {"accel": "accel", "mic": "mic", "thermal": "thermal/image_raw",
                   "camera": "camera/image_raw"}
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")

# Inspection robot profile: the drivers of a mobile robot that visits machines with a contact
# accelerometer probe on its arm, a microphone and a pan-tilt thermal + colour camera head.
INSPECTION_ROBOT_TOPICS = {
    "accel": "/probe/accel/chunk",
    "mic": "/audio/mic/chunk",
    "thermal/image_raw": "/ptz/thermal/image_raw",
    "camera/image_raw": "/ptz/color/image_raw",
}


@dataclass(frozen=True)
class NodeSpec:
    executable: str
    name: str
    namespace: str = ""
    params_files: tuple[str, ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    package: str = PACKAGE
    log_level: str = ""

    def ros_args(self) -> list[str]:
        """The `--ros-args ...` a process needs to run as this spec (what launch_ros passes)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.log_level:
            args += ["--log-level", self.log_level]
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


def config_file(name: str) -> str:
    return str(share_dir() / "config" / name)


def monitor_spec(namespace: str = "", params_file: str | None = None,
                 input_remaps: dict[str, str] | None = None,
                 parameters: dict[str, object] | None = None,
                 log_level: str = "") -> NodeSpec:
    """The monitor alone, for integration into a larger system (inputs remapped).

    parameters go after the params file (they win): use_sim_time, autostart (false when a
    lifecycle manager configures and activates the node), ..."""
    params_file = params_file or config_file("monitor.yaml")
    remaps = tuple((name, target) for name, target in (input_remaps or {}).items()
                   if target and target != name)
    unknown = {name for name, _ in remaps} - set(MONITOR_INPUTS)
    if unknown:
        raise ValueError(f"unknown monitor inputs {sorted(unknown)}; known: {MONITOR_INPUTS}")
    if log_level and log_level not in LOG_LEVELS:
        raise ValueError(f"log level {log_level!r} is not one of {LOG_LEVELS}")
    return NodeSpec("monitor_node", "pm_monitor", namespace.strip("/"), (params_file,),
                    dict(parameters or {}), remaps, log_level=log_level)


def inspection_robot_plan(namespace: str = "inspection", asset_id: str = "",
                          params_file: str | None = None, autostart: bool = True,
                          use_sim_time: bool = False, log_level: str = "",
                          asset_file: str = "") -> list[NodeSpec]:
    """The monitor on an inspection robot: robot driver topics, the robot profile's config,
    the inspected asset's id (the robot visits several) and a namespace of its own.
    asset_file: the visited machine's description; empty = config/assets/<asset_id>.yaml when
    it exists. With one, the monitor runs the physics model set: it commissions a machine on
    its first visits and resumes its stored reference on the next ones."""
    parameters: dict[str, object] = {"autostart": bool(autostart),
                                     "use_sim_time": bool(use_sim_time)}
    if asset_id:
        parameters.update(asset_id=asset_id, asset_frame_id=asset_id)
        shipped = Path(config_file(f"assets/{asset_id}.yaml"))
        if not asset_file and shipped.is_file():
            asset_file = str(shipped)
    if asset_file:
        parameters["asset_file"] = asset_file
    return [monitor_spec(namespace, params_file or config_file("inspection_robot.yaml"),
                         dict(INSPECTION_ROBOT_TOPICS), parameters, log_level)]


def simulated_rig_plan(fault_schedule: str = "", speed_factor: float = 1.0,
                      duration_s: float = 0.0, seed: int = 0,
                      monitor_parameters: dict[str, object] | None = None,
                      wait_for_subscribers: bool = False) -> list[NodeSpec]:
    """Simulated rig (sensors under /rig) + the monitor listening to it.

    wait_for_subscribers holds the rig's clock until the monitor is connected (the demo and
    tests use it so that no data is lost to discovery)."""
    share = share_dir()
    schedule = fault_schedule or str(share / "config" / "fault_schedules" /
                                     "demo_outer_race.yaml")
    rig = NodeSpec("rig_node", "rig", "", (str(share / "config" / "rig.yaml"),),
                   {"fault_schedule": schedule, "speed_factor": float(speed_factor),
                    "duration_s": float(duration_s), "seed": int(seed),
                    "wait_for_subscribers": bool(wait_for_subscribers)},
                   tuple((name, f"/rig/{name}") for name in MONITOR_INPUTS))
    monitor = monitor_spec(input_remaps={name: f"/rig/{name}" for name in MONITOR_INPUTS},
                           parameters=monitor_parameters)
    return [rig, monitor]


def femto_rul_plan(bearing: str = "Bearing3_3", speed_factor: float = 100.0,
                   start_stamp_s: float = 0.0,
                   wait_for_subscribers: bool = False) -> list[NodeSpec]:
    """A real FEMTO / PRONOSTIA bearing replayed as accelerometer chunks (g, 25.6 kHz, true
    snapshot times) + the RUL node estimating its remaining life on /rul_node/rul.

    The replay keeps the 10 s between snapshots (compress_gaps would make RUL in seconds
    wrong); at 100x a bearing's hours of life pass in minutes."""
    replay = NodeSpec("replay_node", "replay", "", (),
                      {"dataset": "femto", "bearing": bearing,
                       "speed_factor": float(speed_factor), "accel_unit": "g",
                       "start_stamp_s": float(start_stamp_s), "publish_clock": False,
                       "wait_for_subscribers": bool(wait_for_subscribers)})
    rpm, load_n = FEMTO_CONDITIONS[int(bearing.removeprefix("Bearing").split("_")[0])]
    rul = NodeSpec("rul_node", "rul_node", "", (), {"asset_id": bearing,
                                                    "asset_frame_id": bearing,
                                                    "rpm": rpm, "load_n": load_n})
    return [replay, rul]


# FEMTO / PRONOSTIA operating conditions (shared/data/femto/README.md): the RUL node's
# population prior needs the bearing's speed and load. BearingC_k runs under condition C.
FEMTO_CONDITIONS = {1: (1800.0, 4000.0), 2: (1650.0, 4200.0), 3: (1500.0, 5000.0)}


# The streams of the real-data profile (models/real_data): each modality from the public data
# set its model was trained and measured on. They are recordings of different machines played
# on one timeline, not one machine: what this shows is the real models running live.
REAL_DATA_STREAMS = "femto,thermal_motor,neu_surface,machine_sound"
# PRONOSTIA operating conditions (BearingC_k runs under condition C): shaft speed in rpm.
FEMTO_CONDITION_RPM = {1: 1800.0, 2: 1650.0, 3: 1500.0}
# Replay epoch of the real-data plan: half a sample (25.6 kHz) after a 0.1 s grid point, so each
# of the monitor's 0.1 s windows (ends on the grid) holds exactly one FEMTO snapshot; on the
# grid itself every window would end on the next snapshot's first sample.
REAL_DATA_START_S = 1_700_000_000.0 + 0.5 / 25600.0


def real_data_plan(bearing: str = "Bearing1_3", speed_factor: float = 1.0,
                   start_stamp_s: float = REAL_DATA_START_S, duration_s: float = 0.0,
                   wait_for_subscribers: bool = False,
                   monitor_parameters: dict[str, object] | None = None) -> list[NodeSpec]:
    """Recorded real data through the monitor running the real-data profile.

    FEMTO snapshots are played back to back (compress_gaps: one 0.1 s snapshot per window, as
    the health-state model was trained), in g; the thermal motor, NEU steel and MIMII fan
    recordings feed the Stage 2 models on the same timeline. Bearing1_3 is the bearing the
    shipped health-state model never saw (its fold's test bearing). duration_s: stop the
    replay then (the bearing's snapshots x 0.1 s: the sound and image sets last longer);
    0 = play every selected recording to its end."""
    replay = NodeSpec("replay_node", "replay", "", (),
                      {"dataset": REAL_DATA_STREAMS, "bearing": bearing,
                       "compress_gaps": True, "accel_unit": "g",
                       "machine": "fan/id_00", "frame_period_s": 0.5,
                       "speed_factor": float(speed_factor), "duration_s": float(duration_s),
                       "start_stamp_s": float(start_stamp_s), "publish_clock": False,
                       "wait_for_subscribers": bool(wait_for_subscribers)})
    match = re.fullmatch(r"Bearing([123])_\d+", bearing)
    if match is None:
        raise ValueError(f"{bearing!r} is not a FEMTO bearing name (Bearing1_1 ... Bearing3_3)")
    parameters = {"model_dir": str(share_dir() / "models" / "real_data"),
                  "shaft_speed_rpm": FEMTO_CONDITION_RPM[int(match.group(1))],
                  "asset_id": f"femto_{bearing}", "asset_frame_id": bearing,
                  # ISO 10816-3 covers machines above 15 kW; PRONOSTIA's test bearing is not
                  # one, and its zones would raise alarms the standard does not support
                  "alarm.zone_alarm_enabled": False,
                  **(monitor_parameters or {})}
    return [replay, monitor_spec(parameters=parameters)]
