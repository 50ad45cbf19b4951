"""Parameter spec tables: ROS descriptors, validation on change, start-up problems, merged
tables from other modules, and the README table generated from the spec."""
from __future__ import annotations

from pathlib import Path

import pytest
from rcl_interfaces.msg import ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from pm_monitor.core.config_schema import ParamSpec, merge_tables, prefixed
from pm_monitor.nodes.params import (
    MONITOR_PARAMETERS,
    NODE_PARAMETERS,
    ParameterGuard,
    declare_from_table,
    doc_marker,
    documentation,
)

ROOT = Path(__file__).resolve().parents[2]
SECTION = ROOT / "docs" / "sections" / "ros_integration.md"

# Shaped like what the alarm and inference modules publish: plain (default, description,
# range-or-choices-or-None) tuples.
ALARM_LIKE_TABLE = {
    "log_dir": ("", "Directory of the append-only alert log.", None),
    "shelve_max_s": (3600.0, "Longest an operator may shelve an alarm (s).", (60.0, 86400.0)),
}
INFERENCE_LIKE_TABLE = {
    "backend": ("auto", "Inference backend.", ("auto", "onnxruntime", "torch")),
}


def _table_after_marker(text: str, marker: str) -> str:
    lines = text.splitlines()
    start = lines.index(marker) + 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def test_readme_parameter_tables_match_the_spec_tables():
    """The README (or, until the lead moves it there, docs/sections/ros_integration.md) shows
    each node's table exactly as the spec table generates it (python -m
    pm_monitor.nodes.params prints them)."""
    expected = documentation()
    for executable in NODE_PARAMETERS:
        marker = doc_marker(executable)
        readme = (ROOT / "README.md").read_text()
        doc = readme if marker in readme else SECTION.read_text()
        assert marker in doc, f"no parameter table for {executable} in README.md or {SECTION}"
        assert _table_after_marker(doc, marker) == _table_after_marker(expected, marker), (
            f"{executable}: the documented parameters differ from the spec table; paste the "
            "output of `python -m pm_monitor.nodes.params`")


@pytest.fixture
def node(ros_context):
    made: list[Node] = []

    def make(**overrides) -> Node:
        made.append(Node("params_under_test", context=ros_context,
                         parameter_overrides=[Parameter(k, value=v)
                                              for k, v in overrides.items()]))
        return made[-1]

    yield make
    for n in made:
        n.destroy_node()


def test_merged_tables_are_declared_with_descriptors(node):
    """Tables of other modules (shaped like the alarm and inference ones) merge in and are
    declared with their descriptions, ranges and choices."""
    base = {name: spec for name, spec in MONITOR_PARAMETERS.items()
            if not name.startswith("alarm.") and name != "backend"}
    table = merge_tables(base, prefixed(ALARM_LIKE_TABLE, "alarm."), INFERENCE_LIKE_TABLE)
    n = node()
    assert declare_from_table(n, table) == []
    assert all(n.has_parameter(name) for name in table)
    backend = n.describe_parameter("backend")
    assert backend.additional_constraints == "one of: auto, onnxruntime, torch"
    shelve = n.describe_parameter("alarm.shelve_max_s")
    assert shelve.type == ParameterType.PARAMETER_DOUBLE
    assert shelve.description.startswith("Longest an operator")
    assert (shelve.floating_point_range[0].from_value,
            shelve.floating_point_range[0].to_value) == (60.0, 86400.0)
    assert n.describe_parameter("model_dir").read_only
    assert not n.describe_parameter("image_slop_s").read_only


def test_the_monitor_table_holds_the_alarm_and_inference_parameters(node):
    n = node()
    assert declare_from_table(n, MONITOR_PARAMETERS) == []
    delay = n.describe_parameter("alarm.on_delay_windows_warning")
    assert delay.integer_range[0].from_value == 1 and delay.integer_range[0].to_value == 1000
    assert not delay.read_only  # alarm parameters apply to the running alarms
    backend = n.describe_parameter("backend")
    assert backend.read_only  # the backend is chosen when the models load
    assert backend.additional_constraints == "one of: auto, tensorrt, onnxruntime, torch"


def test_a_name_defined_by_two_tables_or_a_bad_default_is_refused():
    with pytest.raises(ValueError, match="'asset_id' is defined by two spec tables"):
        merge_tables(MONITOR_PARAMETERS, {"asset_id": ("x", "clash")})
    with pytest.raises(ValueError, match="outside"):
        merge_tables({"gain": (5.0, "a gain", (0.0, 1.0))})


def test_changes_are_validated_with_a_reason_and_applied(node):
    table = merge_tables({"slop_s": ParamSpec(0.1, "slop", (0.0, 1.0)),
                          "mode": ParamSpec("fast", "mode", choices=("fast", "exact")),
                          "model": ParamSpec("", "model", read_only=True)})
    n = node()
    declare_from_table(n, table)
    applied: list[dict] = []

    def apply(changes: dict) -> None:
        if changes.get("slop_s") == 0.5:
            raise ValueError("0.5 is unlucky")
        applied.append(changes)

    ParameterGuard(n, table, apply)
    ok = n.set_parameters([Parameter("slop_s", value=0.3)])[0]
    assert ok.successful and applied == [{"slop_s": 0.3}]
    results = {
        "out of range": n.set_parameters([Parameter("slop_s", value=3.0)])[0],
        "wrong type": n.set_parameters([Parameter("slop_s", value="wide")])[0],
        "not a choice": n.set_parameters([Parameter("mode", value="slow")])[0],
        "read only": n.set_parameters([Parameter("model", value="/tmp/x")])[0],
        "refused by apply": n.set_parameters([Parameter("slop_s", value=0.5)])[0],
    }
    assert not any(r.successful for r in results.values())
    assert "'slow' is not one of 'fast', 'exact'" in results["not a choice"].reason
    assert "0.5 is unlucky" in results["refused by apply"].reason
    assert all(r.reason for r in results.values())
    assert n.get_parameter("slop_s").value == 0.3 and len(applied) == 1


def test_bad_start_up_values_are_reported_not_raised(node):
    n = node(image_slop_s=1, heatmap_alpha=7.0, image_slope_s=0.2, use_sim_time=False)
    problems = declare_from_table(n, MONITOR_PARAMETERS)
    assert sorted(p.split(":")[0] for p in problems) == [
        "heatmap_alpha", "image_slop_s", "image_slope_s"]
    assert n.get_parameter("image_slop_s").value == 0.1  # the default, not the bad value
