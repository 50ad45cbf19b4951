"""What the launch files start, as plain data: testable and runnable without `launch`.

`launch` / `launch_ros` are not installable from PyPI, so the launch files in launch/ only
turn these NodeSpecs into launch_ros Node actions, and the demo runner turns the same specs
into command lines. Both paths start exactly the same executables, parameters and remappings.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE = "pm_monitor"

# Inputs of the monitor (relative names, remappable) and where the simulated rig publishes.
MONITOR_INPUTS = ("accel", "mic", "thermal/image_raw", "camera/image_raw")
# Every topic the monitor subscribes to: the sensors and a RUL node's estimates.
MONITOR_SUBSCRIPTIONS = (*MONITOR_INPUTS, "rul_in")
# Launch-argument name of each input (monitor.launch.py accel:=/press/accel ...).
INPUT_ARGUMENTS = {"accel": "accel", "mic": "mic", "thermal": "thermal/image_raw",
                   "camera": "camera/image_raw", "rul_in": "rul_in"}
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
# What a node's exit does to the launch: "error" = a non-zero exit (a crash, a bad
# configuration) shuts the whole launch down, a clean end (a finished replay) does not.
EXIT_POLICIES = ("error", "always", "never")

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
    # log_level for every logger of the process (rcl, rmw, ...), not only this node's
    log_level_all: bool = False
    on_exit: str = "error"
    arguments: tuple[str, ...] = ()  # command-line arguments before --ros-args

    def logger_name(self) -> str:
        """The node's logger (rclpy: namespace and name joined by dots)."""
        return ".".join(part for part in (*self.namespace.split("/"), self.name) if part)

    def log_level_args(self) -> list[str]:
        """`--log-level` for this node's logger (and its children) only, so debug output of
        rcl and the middleware does not bury ours; every logger with log_level_all."""
        if not self.log_level:
            return []
        if self.log_level_all:
            return ["--log-level", self.log_level]
        return ["--log-level", f"{self.logger_name()}:={self.log_level}"]

    def ros_args(self) -> list[str]:
        """The `--ros-args ...` a process needs to run as this spec (what launch_ros passes)."""
        args = ["--ros-args", "-r", f"__node:={self.name}", *self.log_level_args()]
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


def existing_params_file(path: str, argument: str = "params_file") -> str:
    """`path` if it is a readable file; otherwise the error a user must see (launch_ros only
    warns and the node would run on its defaults)."""
    if not Path(path).is_file():
        raise LaunchArgumentError(argument, path, "no such parameters file")
    return path


def monitor_spec(namespace: str = "", params_file: str | None = None,
                 input_remaps: dict[str, str] | None = None,
                 parameters: dict[str, object] | None = None,
                 log_level: str = "", log_level_all: bool = False) -> NodeSpec:
    """The monitor alone, for integration into a larger system (inputs remapped).

    parameters go after the params file (they win): use_sim_time, autostart (false when a
    lifecycle manager configures and activates the node), ..."""
    params_file = existing_params_file(params_file or config_file("monitor.yaml"))
    remaps = tuple((name, target) for name, target in (input_remaps or {}).items()
                   if target and target != name)
    unknown = {name for name, _ in remaps} - set(MONITOR_SUBSCRIPTIONS)
    if unknown:
        raise ValueError(f"unknown monitor inputs {sorted(unknown)}; "
                         f"known: {MONITOR_SUBSCRIPTIONS}")
    if log_level and log_level not in LOG_LEVELS:
        raise ValueError(f"log level {log_level!r} is not one of {LOG_LEVELS}")
    return NodeSpec("monitor_node", "pm_monitor", namespace.strip("/"), (params_file,),
                    dict(parameters or {}), remaps, log_level=log_level,
                    log_level_all=log_level_all)


def rviz_spec(package_available=None) -> NodeSpec:
    """RViz with the shipped layout, refused up front when rviz2 is not installed (a launch
    that failed on it half way would leave the other nodes running)."""
    available = package_available or _package_available
    if not available("rviz2"):
        raise LaunchArgumentError("rviz", "true", "package 'rviz2' is not installed "
                                  "(apt install ros-jazzy-rviz2), nothing was started")
    return NodeSpec("rviz2", "rviz2", package="rviz2", on_exit="never",
                    arguments=("-d", config_file("pm_monitor.rviz")))


def _package_available(package: str) -> bool:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:
        return False
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        return False
    return True


def inspection_robot_plan(namespace: str = "inspection", asset_id: str = "",
                          params_file: str | None = None, autostart: bool = True,
                          use_sim_time: bool = False, log_level: str = "",
                          log_level_all: bool = False, asset_file: str = "",
                          transports: Mapping[str, str] | None = None) -> list[NodeSpec]:
    """The monitor on an inspection robot: robot driver topics, the robot profile's config,
    the inspected asset's id (the robot visits several) and a namespace of its own.
    asset_file: the visited machine's description; empty = config/assets/<asset_id>.yaml when
    it exists. With one, the monitor runs the physics model set: it commissions a machine on
    its first visits and resumes its stored reference on the next ones. transports: the
    image inputs' thermal_transport / camera_transport (e.g. the colour camera's JPEG over
    the robot's wireless link: {"camera_transport": "compressed"})."""
    parameters: dict[str, object] = {"autostart": bool(autostart),
                                     "use_sim_time": bool(use_sim_time), **(transports or {})}
    if asset_id:
        parameters.update(asset_id=asset_id, asset_frame_id=asset_id)
        shipped = Path(config_file(f"assets/{asset_id}.yaml"))
        if not asset_file and shipped.is_file():
            asset_file = str(shipped)
    if asset_file:
        parameters["asset_file"] = asset_file
    return [monitor_spec(namespace, params_file or config_file("inspection_robot.yaml"),
                         dict(INSPECTION_ROBOT_TOPICS), parameters, log_level, log_level_all)]


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
                   monitor_parameters: dict[str, object] | None = None,
                   datasets: str = REAL_DATA_STREAMS) -> list[NodeSpec]:
    """Recorded real data through the monitor running the real-data profile.

    FEMTO snapshots are played back to back (compress_gaps: one 0.1 s snapshot per window, as
    the health-state model was trained), in g; the thermal motor, NEU steel and MIMII fan
    recordings feed the Stage 2 models on the same timeline. Bearing1_3 is the bearing the
    shipped health-state model never saw (its fold's test bearing). duration_s: stop the
    replay then (the bearing's snapshots x 0.1 s: the sound and image sets last longer);
    0 = play every selected recording to its end. datasets: which recordings the replay plays
    (e.g. "femto" alone: a machine with nothing but its accelerometers)."""
    replay = NodeSpec("replay_node", "replay", "", (),
                      {"dataset": datasets, "bearing": bearing,
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


# --- launch arguments ------------------------------------------------------------------------
# Every argument of every launch file, with its description and allowed values, as data: the
# launch files declare them from here (`ros2 launch ... --show-args` shows both) and
# `parse_launch_arguments` checks the values given before any node is created, naming the
# argument in its error.


class LaunchArgumentError(ValueError):
    """A launch argument with a value it cannot take; the message names the argument."""

    def __init__(self, argument: str, value: str, why: str) -> None:
        super().__init__(f"launch argument '{argument}' = {value!r}: {why}")
        self.argument = argument


@dataclass(frozen=True)
class LaunchArgument:
    """kind: "string", "bool", "float", "int", "choice" (one of `choices`), "path" (an
    existing file), "topic" (a ROS topic name), "log_level"."""

    name: str
    default: str
    description: str
    kind: str = "string"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def allowed(self) -> str:
        """The allowed values in words (part of the description --show-args prints)."""
        if self.kind == "bool":
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind in ("float", "int"):
            spell = (lambda v: f"{v:g}") if self.kind == "float" else (lambda v: f"{int(v)}")
            low = "-inf" if self.minimum is None else spell(self.minimum)
            high = "inf" if self.maximum is None else spell(self.maximum)
            number = "a number" if self.kind == "float" else "an integer"
            return f"{number} in [{low}, {high}]"
        if self.kind == "path":
            return "path of an existing file"
        if self.kind == "topic":
            return "a topic name, relative or absolute"
        return "any text"

    def full_description(self) -> str:
        # launch itself lists the choices of an argument that has them
        return self.description if self.choices else \
            f"{self.description} Allowed: {self.allowed()}."

    def launch_choices(self) -> list[str] | None:
        """What DeclareLaunchArgument(choices=...) refuses outside of, or None."""
        return list(self.choices) if self.choices else None

    def parse(self, value: str) -> object:
        text = value.strip()
        if self.kind == "bool":
            if text.lower() not in ("true", "false"):
                raise LaunchArgumentError(self.name, value, "expected true or false")
            return text.lower() == "true"
        if self.choices and text not in self.choices:
            raise LaunchArgumentError(self.name, value, f"expected {self.allowed()}")
        if self.kind in ("float", "int"):
            try:
                number = float(text) if self.kind == "float" else int(text)
            except ValueError:
                raise LaunchArgumentError(self.name, value, f"expected {self.allowed()}") \
                    from None
            if not math.isfinite(number) or (self.minimum is not None and number < self.minimum) \
                    or (self.maximum is not None and number > self.maximum):
                raise LaunchArgumentError(self.name, value, f"expected {self.allowed()}")
            return number
        if self.kind == "path":
            return existing_params_file(text, self.name) if text else ""
        if self.kind == "topic" and (not text or not re.fullmatch(r"[~/]?[A-Za-z_][\w/]*", text)
                                     or "//" in text):
            raise LaunchArgumentError(self.name, value, f"expected {self.allowed()}")
        return text


_BOOL = ("true", "false")
_LOG_ARGUMENTS = (
    LaunchArgument("log_level", "info", "Log level of this package's nodes (rcl and the "
                   "middleware stay at info unless log_level_all is true).", "choice",
                   LOG_LEVELS),
    LaunchArgument("log_level_all", "false", "Apply log_level to every logger of the "
                   "processes (rcl, rmw), not only to our nodes.", "bool", _BOOL),
)
_RVIZ = LaunchArgument("rviz", "false", "Open RViz with the camera, thermal, heatmap and "
                       "asset-marker layout (needs rviz2 installed; refused up front "
                       "otherwise).", "bool", _BOOL)
_MONITOR_COMMON = (
    LaunchArgument("use_sim_time", "false", "Use /clock (simulated or bag time).", "bool",
                   _BOOL),
    LaunchArgument("autostart", "true", "Configure and activate the monitor at start-up; "
                   "false leaves it unconfigured for a lifecycle manager.", "bool", _BOOL),
)
# image_transport's transports of the image inputs (monitor parameters of the same names);
# empty = leave the params file's value
_TRANSPORTS = (
    LaunchArgument("thermal_transport", "", "Transport of the thermal images: raw (Image), "
                   "compressed (16-bit PNG CompressedImage on <thermal topic>/compressed) or "
                   "compressedDepth (<thermal topic>/compressedDepth); empty = the params "
                   "file's.", "choice", ("", "raw", "compressed", "compressedDepth")),
    LaunchArgument("camera_transport", "", "Transport of the camera images: raw (Image) or "
                   "compressed (JPEG/PNG CompressedImage on <camera topic>/compressed); "
                   "empty = the params file's.", "choice", ("", "raw", "compressed")),
)
_INPUT_DESCRIPTIONS = {
    "accel": "Topic of the accelerometer chunks (pm_monitor/SensorChunk).",
    "mic": "Topic of the microphone chunks (pm_monitor/SensorChunk).",
    "thermal": "Topic of the thermal images (sensor_msgs/Image).",
    "camera": "Topic of the camera images (sensor_msgs/Image).",
    "rul_in": "Topic of a RUL node's estimates (pm_monitor/RulEstimate), e.g. /rul_node/rul.",
}
_SPEED = "Replay speed: recorded seconds per wall second."

LAUNCH_ARGUMENTS: dict[str, tuple[LaunchArgument, ...]] = {
    "monitor.launch.py": (
        LaunchArgument("namespace", "", "Namespace of the monitor (its topics and services "
                       "move under it)."),
        LaunchArgument("params_file", "", "YAML parameters of the monitor; empty = the "
                       "shipped config/monitor.yaml. A missing file is an error.", "path"),
        *_MONITOR_COMMON,
        *_TRANSPORTS,
        *_LOG_ARGUMENTS,
        *(LaunchArgument(arg, topic, _INPUT_DESCRIPTIONS[arg], "topic")
          for arg, topic in INPUT_ARGUMENTS.items()),
        _RVIZ,
    ),
    "test_rig.launch.py": (
        LaunchArgument("fault_schedule", "", "YAML fault schedule of the simulated rig; "
                       "empty = the shipped demo (outer-race fault at 40 s).", "path"),
        LaunchArgument("speed_factor", "1.0", "Simulated seconds per wall second.", "float",
                       minimum=0.01, maximum=100.0),
        LaunchArgument("duration_s", "0.0", "Stop the rig after this many simulated seconds; "
                       "0 = run until stopped.", "float", minimum=0.0, maximum=1e7),
        LaunchArgument("seed", "0", "Random seed of the rig (same seed + schedule = same "
                       "data).", "int", minimum=0, maximum=2**31 - 1),
        *_LOG_ARGUMENTS,
        _RVIZ,
    ),
    "inspection_robot.launch.py": (
        LaunchArgument("namespace", "inspection", "Namespace of the monitor on the robot."),
        LaunchArgument("asset_id", "", "Id of the machine the robot is visiting (alert ids, "
                       "frames); empty = the profile's."),
        LaunchArgument("asset_file", "", "Asset description of the visited machine "
                       "(config/assets/*.yaml); empty = config/assets/<asset_id>.yaml when "
                       "shipped. A missing file is an error.", "path"),
        LaunchArgument("params_file", "", "YAML parameters; empty = the shipped "
                       "config/inspection_robot.yaml. A missing file is an error.", "path"),
        *_MONITOR_COMMON,
        *_TRANSPORTS,
        *_LOG_ARGUMENTS,
    ),
    "femto_rul.launch.py": (
        LaunchArgument("bearing", "Bearing3_3", "FEMTO / PRONOSTIA bearing to replay.",
                       "string"),
        LaunchArgument("speed_factor", "100.0", _SPEED, "float", minimum=0.01,
                       maximum=10000.0),
        *_LOG_ARGUMENTS,
    ),
    "real_data.launch.py": (
        LaunchArgument("bearing", "Bearing1_3", "FEMTO bearing replayed into the monitor "
                       "(Bearing1_3: never seen by the shipped health-state model).",
                       "string"),
        LaunchArgument("speed_factor", "1.0", _SPEED, "float", minimum=0.01, maximum=1000.0),
        *_LOG_ARGUMENTS,
    ),
}


def parse_launch_arguments(launch_file: str, given: Mapping[str, str]) -> dict[str, object]:
    """The typed values of a launch file's arguments (defaults for those not given); raises
    LaunchArgumentError naming the first bad one, before anything is started."""
    values = {}
    for argument in LAUNCH_ARGUMENTS[launch_file]:
        values[argument.name] = argument.parse(given.get(argument.name, argument.default))
    return values


def with_log_level(specs: list[NodeSpec], level: str, every_logger: bool) -> list[NodeSpec]:
    """The specs with the launch's log level (only for our nodes' loggers by default)."""
    if level not in LOG_LEVELS:
        raise LaunchArgumentError("log_level", level, f"expected one of {', '.join(LOG_LEVELS)}")
    return [replace(spec, log_level=level, log_level_all=every_logger) for spec in specs]


def launch_plan(launch_file: str, given: Mapping[str, str],
                package_available=None) -> list[NodeSpec]:
    """Everything a launch file starts for the arguments `given` (strings, as on the
    command line): checked completely before the first node is created."""
    a = parse_launch_arguments(launch_file, given)
    transports = {t.name: a[t.name] for t in _TRANSPORTS if a.get(t.name)}
    if launch_file == "monitor.launch.py":
        specs = [monitor_spec(
            a["namespace"], a["params_file"] or None,
            {topic: a[arg] for arg, topic in INPUT_ARGUMENTS.items()},
            {"use_sim_time": a["use_sim_time"], "autostart": a["autostart"], **transports})]
    elif launch_file == "test_rig.launch.py":
        specs = simulated_rig_plan(a["fault_schedule"], a["speed_factor"], a["duration_s"],
                                   a["seed"])
    elif launch_file == "inspection_robot.launch.py":
        specs = inspection_robot_plan(a["namespace"], a["asset_id"], a["params_file"] or None,
                                      a["autostart"], a["use_sim_time"],
                                      asset_file=a["asset_file"], transports=transports)
    elif launch_file == "femto_rul.launch.py":
        specs = femto_rul_plan(a["bearing"], a["speed_factor"])
    elif launch_file == "real_data.launch.py":
        try:
            specs = real_data_plan(a["bearing"], a["speed_factor"])
        except ValueError as err:
            raise LaunchArgumentError("bearing", a["bearing"], str(err)) from None
    else:
        raise KeyError(f"no plan for {launch_file}")
    specs = with_log_level(specs, a["log_level"], a["log_level_all"])
    if a.get("rviz"):
        specs.append(rviz_spec(package_available))
    return specs
