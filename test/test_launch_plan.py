"""The launch files start what the launch plan says; check that plan without `launch`."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from pm_monitor.launch_plan import MONITOR_INPUTS, NodeSpec, monitor_spec, simulated_rig_plan

ROOT = Path(__file__).resolve().parents[1]


def _installed_programs() -> set[str]:
    cmake = (ROOT / "CMakeLists.txt").read_text()
    block = re.search(r"install\(PROGRAMS(.*?)DESTINATION", cmake, re.S).group(1)
    return {Path(p).name for p in block.split()}


def _declared_parameters(executable: str) -> set[str]:
    """Parameter names a node declares (its PARAMETERS table), read without importing rclpy."""
    source = (ROOT / "pm_monitor" / "nodes" / f"{executable}.py").read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PARAMETERS":
            return {k.value for k in node.value.keys}
    raise AssertionError(f"{executable} has no PARAMETERS table")


def _check_spec(spec: NodeSpec) -> None:
    assert spec.executable in _installed_programs()
    script = ROOT / "scripts" / spec.executable
    assert script.exists() and f"pm_monitor.nodes.{spec.executable}" in script.read_text()
    declared = _declared_parameters(spec.executable) | {"use_sim_time"}
    for path in spec.params_files:
        data = yaml.safe_load(Path(path).read_text())
        assert len(data) == 1
        (selector, body), = data.items()
        assert selector in ("/**", spec.name)
        unknown = set(body["ros__parameters"]) - declared
        assert not unknown, f"{path}: parameters the node does not declare: {unknown}"
    assert set(spec.parameters) <= declared


def test_simulated_rig_plan_wires_rig_outputs_to_monitor_inputs():
    rig, monitor = simulated_rig_plan(speed_factor=2.0, duration_s=30.0)
    for spec in (rig, monitor):
        _check_spec(spec)
    assert Path(rig.parameters["fault_schedule"]).exists()
    rig_topics = dict(rig.remappings)
    monitor_topics = dict(monitor.remappings)
    assert set(rig_topics) == set(MONITOR_INPUTS) == set(monitor_topics)
    assert all(rig_topics[name] == monitor_topics[name] for name in MONITOR_INPUTS)


def test_monitor_alone_remaps_inputs_and_namespaces():
    spec = monitor_spec(namespace="line3", input_remaps={"accel": "/press/accel"},
                        parameters={"use_sim_time": True})
    _check_spec(spec)
    args = spec.ros_args()
    assert args[:3] == ["--ros-args", "-r", "__node:=pm_monitor"]
    assert "__ns:=line3" in args and "accel:=/press/accel" in args
    assert "use_sim_time:=true" in args
    with pytest.raises(ValueError, match="unknown monitor inputs"):
        monitor_spec(input_remaps={"lidar": "/x"})


@pytest.mark.parametrize("launch_file", sorted((ROOT / "launch").glob("*.launch.py")))
def test_launch_files_build_their_nodes_from_the_plan(launch_file):
    tree = ast.parse(launch_file.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    assert names & {"monitor_spec", "simulated_rig_plan"}
