"""Parameters of the nodes: one spec table per node, declared with ROS descriptors and guarded
on change.

Spec tables are plain data (`pm_monitor.core.config_schema.ParamSpec`), so the same table
declares the parameters here, validates every YAML in config/ (tests), checks the overrides a
node was started with, and generates the README table. Tables from other modules join a
node's table with `merge_tables` (e.g. `merge_tables(MONITOR_PARAMETERS, ALARM_PARAMETERS)`).
"""
from __future__ import annotations

import array
from collections.abc import Callable, Mapping

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.core.alarms import ALARM_PARAMETERS
from pm_monitor.core.config_schema import (
    ParamSpec,
    ParamTable,
    as_spec,
    check_value,
    is_builtin,
    markdown_table,
    merge_tables,
    prefixed,
)
from pm_monitor.core.inference import INFERENCE_PARAMETERS
from pm_monitor.core.sync.parameters import SYNC_PARAMETERS

ALARM_PREFIX = "alarm."

# Alarms and the synchroniser's slop apply at once to the running pipeline; what shapes
# buffers, models or timers is read-only (set at start-up: a change needs a re-configure).
MONITOR_PARAMETERS: dict[str, ParamSpec] = merge_tables({
    "autostart": ParamSpec(True, "Configure and activate at start-up; false: wait for a "
                                 "lifecycle manager.", read_only=True),
    "asset_id": ParamSpec("rig_1", "Asset this monitor watches; part of every alert id.",
                          read_only=True),
    "asset_frame_id": ParamSpec("asset", "TF frame of the asset, used in alert/RUL headers.",
                                read_only=True),
    "model_dir": ParamSpec("", "Model set directory, described by its model_set.json (e.g. "
                               "models/real_data); empty = the shipped rig baseline.",
                           read_only=True),
    "fusion_model_path": ParamSpec("", "[P1] gated-fusion model whose gate weights and "
                                       "modality bias go into explanations (rig bundles); "
                                       "empty = the shipped one if it fits the bundle, "
                                       "\"none\" = off.", read_only=True),
    "asset_file": ParamSpec("", "Asset description (config/assets/*.yaml) for the physics "
                                "model set (commissioning on the asset + physics rules; any "
                                "rate, 1..N axes); with model_dir empty it selects "
                                "models/physics.", read_only=True),
    "reference_dir": ParamSpec("", "Where per-asset commissioning references are stored "
                                   "(one JSON per asset id); empty = "
                                   "$ROS_HOME/pm_monitor/references.", read_only=True),
    "shaft_speed_rpm": ParamSpec(0.0, "Shaft speed for the bearing defect frequencies of a "
                                      "model set whose features use it (rpm); 0 = its "
                                      "model_set.json's.",
                                 (0.0, 100000.0), read_only=True),
    "image_slop_s": ParamSpec(0.1, "A frame is used for a window only this close to its "
                                   "end (s).", (0.0, 1.0)),
    "modality_timeout_s": ParamSpec(2.0, "A modality silent this long (message time) is left "
                                         "out of windows (s).", (0.1, 9.0), read_only=True),
    "max_future_stamp_s": ParamSpec(3600.0, "Inputs stamped further ahead of the node clock "
                                            "are refused (s); 0 = no check.", (0.0, 1e7)),
    "thermal_transport": ParamSpec("raw", "How thermal images arrive (image_transport's names, "
                                          "off the remapped base topic): raw = "
                                          "thermal/image_raw (Image), compressed = "
                                          "thermal/image_raw/compressed (16-bit PNG only: JPEG "
                                          "has no temperature scale), compressedDepth = "
                                          "thermal/image_raw/compressedDepth (16UC1 PNG).",
                                   read_only=True,
                                   choices=("raw", "compressed", "compressedDepth")),
    "camera_transport": ParamSpec("raw", "How camera images arrive: raw = camera/image_raw "
                                         "(Image), compressed = camera/image_raw/compressed "
                                         "(JPEG or PNG).", read_only=True,
                                  choices=("raw", "compressed")),
    "thermal_raw_scale": ParamSpec(0.01, "mono16/16UC1 thermal: deg C = raw * scale + offset.",
                                   (1e-6, 100.0)),
    "thermal_raw_offset_c": ParamSpec(-273.15, "mono16/16UC1 thermal: offset in deg C.",
                                      (-1000.0, 1000.0)),
    "alert_log_path": ParamSpec("", "Append-only alert log (JSON lines, fsynced; replayed at "
                                    "start-up so alarm states and ids survive a restart); "
                                    "empty = $ROS_HOME/pm_monitor/alerts_<asset_id>.jsonl.",
                                read_only=True),
    "heatmap_alpha": ParamSpec(0.45, "Opacity of the heatmap over the thermal frame.",
                               (0.0, 1.0)),
    "diagnostics_period_s": ParamSpec(1.0, "Period of /diagnostics messages (s).",
                                      (0.1, 60.0), read_only=True),
    "stale_error_s": ParamSpec(30.0, "An input silent this long is an ERROR in /diagnostics "
                                     "(WARN after modality_timeout_s) (s).", (0.5, 1e6)),
    "inference_threads": ParamSpec(1, "torch CPU threads; 1 avoids OpenMP contention with the "
                                      "node's own thread on small models (measured 13x "
                                      "faster).", (1, 64), read_only=True),
},
    # alarm management (ISA-18.2 lifecycle, anti-flicker, flood control, ISO zones): applies
    # at once to the running alarms; in YAML under `alarm:`
    prefixed(ALARM_PARAMETERS, ALARM_PREFIX),
    # the inference backend is chosen when the models are loaded (configure)
    {name: as_spec(entry)._replace(read_only=True)
     for name, entry in INFERENCE_PARAMETERS.items()},
    # frame matching, clock offsets, drop reporting (built at configure)
    SYNC_PARAMETERS,
)

# The simulated rig is configured once at start-up: every parameter is read-only.
RIG_PARAMETERS: dict[str, ParamSpec] = merge_tables({
    "fault_schedule": ParamSpec("", "YAML fault schedule; empty = healthy machine.",
                                read_only=True),
    "seed": ParamSpec(0, "Random seed: the same seed and schedule give the same data.",
                      (0, 2**31 - 1), read_only=True),
    "speed_factor": ParamSpec(1.0, "Simulated seconds per wall second.", (0.01, 100.0),
                              read_only=True),
    "duration_s": ParamSpec(0.0, "Stop after this many simulated seconds; 0 = run until "
                                 "stopped.", (0.0, 1e7), read_only=True),
    "chunk_s": ParamSpec(0.02, "Duration of one SensorChunk (s), like real drivers.",
                         (0.005, 0.1), read_only=True),
    "camera_hz": ParamSpec(30.0, "Camera frame rate (Hz).", (0.1, 120.0), read_only=True),
    "thermal_hz": ParamSpec(9.0, "Thermal frame rate (Hz).", (0.1, 60.0), read_only=True),
    "thermal_encoding": ParamSpec("mono16", "mono16 (centikelvin counts) or 32FC1 (deg C).",
                                  read_only=True, choices=("mono16", "32FC1")),
    "truth_hz": ParamSpec(10.0, "Ground-truth publication rate (Hz, simulated time).",
                          (0.1, 100.0), read_only=True),
    "asset_id": ParamSpec("rig_1", "Asset id in the ground truth.", read_only=True),
    "publish_clock": ParamSpec(True, "Publish the simulated time on /clock.", read_only=True),
    "stamp_epoch_s": ParamSpec(0.0, "Stamp of simulated t=0 (s); 0 = wall clock at start.",
                               (0.0, 4e9), read_only=True),
    "wait_for_subscribers": ParamSpec(False, "Hold the simulated clock at 0 until every "
                                             "sensor topic has a subscriber (no data lost to "
                                             "discovery).", read_only=True),
})

# Which table each installed executable declares (launch-plan and config tests use it).
NODE_PARAMETERS: dict[str, ParamTable] = {
    "monitor_node": MONITOR_PARAMETERS,
    "rig_node": RIG_PARAMETERS,
}


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """The ROS descriptor of a spec: description, range, read-only, allowed strings."""
    desc = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.range is not None:
        low, high = spec.range
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            desc.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
        else:
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(low), to_value=float(high), step=0.0)]
    if spec.choices:
        desc.additional_constraints = "one of: " + ", ".join(spec.choices)
    return desc


def plain_value(value: object) -> object:
    """A parameter value as the spec tables know it: rclpy hands double and integer arrays
    over as array.array (from `ros2 param set` and params files alike), the tables and the
    core expect lists."""
    return value.tolist() if isinstance(value, array.array) else value


def start_up_overrides(node: Node) -> dict[str, object]:
    """The values the node was started with (params files, -p, parameter_overrides).

    rclpy keeps them in Node._parameter_overrides and offers no public getter; they are
    needed to report unknown names and wrong types instead of ignoring or raising."""
    overrides: Mapping[str, Parameter] = getattr(node, "_parameter_overrides", {})
    return {name: plain_value(param.value) for name, param in overrides.items()}


def declare_from_table(node: Node, table: ParamTable) -> list[str]:
    """Declare every parameter of `table` with its descriptor; return the problems of the
    start-up values (unknown names, wrong types, out of range) instead of raising.

    A bad start-up value is not applied (the default is declared), so the node can come up
    and report the problems at configure, with all of them in one message."""
    overrides = start_up_overrides(node)
    problems = []
    for name, spec in table.items():
        problem = check_value(name, overrides[name], spec) if name in overrides else None
        if problem:
            problems.append(problem)
        node.declare_parameter(name, spec.default, descriptor(spec),
                               ignore_override=problem is not None)
    for name in overrides:
        if name not in table and not node.has_parameter(name) and not is_builtin(name):
            problems.append(f"{name}: unknown parameter")
    return problems


def values_of(node: Node, table: ParamTable) -> dict[str, object]:
    return {name: plain_value(node.get_parameter(name).value) for name in table}


class ParameterGuard:
    """Validates parameter changes against the table and hands accepted ones to `apply`.

    `apply(changes)` runs before the new values are stored; a ValueError it raises refuses
    the whole change with its message (ros2 param set shows it)."""

    def __init__(self, node: Node, table: ParamTable,
                 apply: Callable[[dict[str, object]], None]) -> None:
        self.table = table
        self.apply = apply
        node.add_on_set_parameters_callback(self._on_set)

    def _on_set(self, parameters: list[Parameter]) -> SetParametersResult:
        changes = {p.name: plain_value(p.value) for p in parameters if p.name in self.table}
        problems = [problem for name, value in changes.items()
                    if (problem := check_value(name, value, self.table[name]))]
        if problems:
            return SetParametersResult(successful=False, reason="; ".join(problems))
        try:
            self.apply(changes)
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)


def documentation() -> str:
    """The parameter tables as they must appear in the README (each after its marker)."""
    return "\n\n".join(f"{doc_marker(executable)}\n{markdown_table(table)}"
                       for executable, table in NODE_PARAMETERS.items())


def doc_marker(executable: str) -> str:
    """The comment in the README that precedes (and locates) a node's parameter table."""
    return f"<!-- parameter-table: {executable} (python -m pm_monitor.nodes.params) -->"


if __name__ == "__main__":
    print(documentation())
