"""The launch files start what the launch plan says; check that plan without `launch`:
executables exist, every params file loads and holds only declared parameters of the right
type and range for the node it targets, remappings name real inputs, launch files parse."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytest.importorskip("rcl_interfaces", reason="the parameter tables declare ROS descriptors")

from pm_monitor import launch_plan
from pm_monitor.core.config_schema import (
    ConfigError,
    load_params_file,
    validate,
    validate_params_file,
)
from pm_monitor.launch_plan import (
    INPUT_ARGUMENTS,
    INSPECTION_ROBOT_TOPICS,
    MONITOR_INPUTS,
    NodeSpec,
    femto_rul_plan,
    inspection_robot_plan,
    monitor_spec,
    real_data_plan,
    simulated_rig_plan,
)
from pm_monitor.nodes.params import NODE_PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


@pytest.fixture(autouse=True)
def source_tree_share(monkeypatch):
    """Check this tree's config/, not an installed copy that may predate it."""
    monkeypatch.setattr(launch_plan, "share_dir", lambda: ROOT)


def _all_plans() -> dict[str, list[NodeSpec]]:
    return {
        "monitor": [monitor_spec()],
        "test_rig": simulated_rig_plan(speed_factor=2.0, duration_s=30.0),
        "inspection_robot": inspection_robot_plan(asset_id="pump_7"),
    }


def _installs_every_script() -> bool:
    cmake = (ROOT / "CMakeLists.txt").read_text()
    return bool(re.search(r'file\(GLOB\s+(\w+)[^)]*scripts/\*"?\)', cmake)) and \
        "install(PROGRAMS" in cmake


def _check_spec(spec: NodeSpec) -> None:
    assert spec.executable in NODE_PARAMETERS, f"no parameter table for {spec.executable}"
    script = ROOT / "scripts" / spec.executable
    assert script.exists() and f"pm_monitor.nodes.{spec.executable}" in script.read_text()
    assert _installs_every_script(), "CMakeLists.txt no longer installs scripts/*"
    table = NODE_PARAMETERS[spec.executable]
    for path in spec.params_files:
        assert Path(path).exists(), path
        values = validate_params_file(path, spec.name, table, spec.namespace)
        assert values, f"{path} gives {spec.name} no parameters"
    validate(spec.parameters, table, f"{spec.name} launch parameters")


@pytest.mark.parametrize("profile", ["monitor", "test_rig", "inspection_robot"])
def test_every_plan_starts_installed_executables_with_valid_parameters(profile):
    for spec in _all_plans()[profile]:
        _check_spec(spec)


def test_every_config_yaml_is_used_by_a_plan_so_it_is_checked():
    used = {Path(p).name for specs in _all_plans().values() for s in specs
            for p in s.params_files}
    assert {p.name for p in (ROOT / "config").glob("*.yaml")} <= used


def test_simulated_rig_plan_wires_rig_outputs_to_monitor_inputs():
    rig, monitor = simulated_rig_plan(speed_factor=2.0, duration_s=30.0)
    assert Path(rig.parameters["fault_schedule"]).exists()
    rig_topics = dict(rig.remappings)
    monitor_topics = dict(monitor.remappings)
    assert set(rig_topics) == set(MONITOR_INPUTS) == set(monitor_topics)
    assert all(rig_topics[name] == monitor_topics[name] for name in MONITOR_INPUTS)


def test_monitor_alone_remaps_inputs_namespaces_and_sets_log_level():
    spec = monitor_spec(namespace="line3", input_remaps={"accel": "/press/accel",
                                                         "mic": "mic"},
                        parameters={"use_sim_time": True, "autostart": False},
                        log_level="debug")
    _check_spec(spec)
    args = spec.ros_args()
    assert args[:3] == ["--ros-args", "-r", "__node:=pm_monitor"]
    assert "__ns:=line3" in args and "accel:=/press/accel" in args
    assert "mic:=mic" not in args  # identity remaps (launch defaults) are left out
    assert "use_sim_time:=true" in args and "autostart:=false" in args
    assert args[args.index("--log-level") + 1] == "debug"
    with pytest.raises(ValueError, match="unknown monitor inputs"):
        monitor_spec(input_remaps={"lidar": "/x"})
    with pytest.raises(ValueError, match="log level"):
        monitor_spec(log_level="loud")


def test_inspection_robot_profile_maps_every_input_to_a_robot_topic():
    (spec,) = inspection_robot_plan(namespace="robot1", asset_id="pump_7", autostart=False)
    assert dict(spec.remappings) == INSPECTION_ROBOT_TOPICS
    assert set(INSPECTION_ROBOT_TOPICS) == set(MONITOR_INPUTS)
    assert spec.namespace == "robot1"
    assert spec.parameters["asset_id"] == "pump_7" and spec.parameters["autostart"] is False
    # its config applies to the monitor under any namespace, not to other nodes
    values = validate_params_file(spec.params_files[0], "pm_monitor",
                                  NODE_PARAMETERS["monitor_node"], "robot1")
    assert values["modality_timeout_s"] == 5.0
    assert load_params_file(spec.params_files[0], "rig") == {}


def test_a_typo_in_a_params_file_is_caught_with_a_suggestion(tmp_path):
    typo = tmp_path / "monitor.yaml"
    typo.write_text("/**:\n  ros__parameters:\n    image_slop: 0.2\n    heatmap_alpha: 1\n")
    with pytest.raises(ConfigError) as caught:
        validate_params_file(typo, "pm_monitor", NODE_PARAMETERS["monitor_node"])
    assert len(caught.value.problems) == 2
    assert "did you mean 'image_slop_s'" in str(caught.value)
    assert "expected float, got integer 1 (write 1.0)" in str(caught.value)


def _launch_tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _declared_arguments(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument":
            first = node.args[0]
            if isinstance(first, ast.Constant):
                names.add(first.value)
            elif isinstance(first, ast.Name) and first.id == "arg":  # one per input topic
                names.update(INPUT_ARGUMENTS)
    return names


def _used_arguments(tree: ast.Module) -> set[str]:
    """Names read with get("...") / LaunchConfiguration("...")."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "get", "LaunchConfiguration") and node.args and isinstance(
                node.args[0], ast.Constant):
            names.add(node.args[0].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "get" and \
                node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == "arg":
            names.update(INPUT_ARGUMENTS)
    return names


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_files_build_their_nodes_from_the_plan(launch_file):
    tree = _launch_tree(launch_file)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    assert names & {"monitor_spec", "simulated_rig_plan", "inspection_robot_plan",
                    "femto_rul_plan", "real_data_plan"}
    used, declared = _used_arguments(tree), _declared_arguments(tree)
    assert used <= declared, f"arguments read but never declared: {used - declared}"


def test_three_profiles_exist_and_monitor_launch_takes_the_integration_arguments():
    assert {p.name for p in LAUNCH_FILES} >= {
        "monitor.launch.py", "test_rig.launch.py", "inspection_robot.launch.py"}
    declared = _declared_arguments(_launch_tree(ROOT / "launch" / "monitor.launch.py"))
    assert declared >= {"namespace", "params_file", "use_sim_time", "log_level", "autostart",
                        *INPUT_ARGUMENTS}


def test_femto_rul_plan_starts_replay_and_rul_node_with_known_parameters():
    """replay_node and rul_node keep their own parameter dicts (numbers may be given without a
    decimal point): every parameter the plan sets is one of theirs, with the default's type."""
    from pm_monitor.nodes import replay_node, rul_node

    replay, rul = femto_rul_plan("Bearing1_3", 50.0)
    for spec, table in ((replay, replay_node.PARAMETERS), (rul, rul_node.PARAMETERS)):
        script = ROOT / "scripts" / spec.executable
        assert script.exists() and f"pm_monitor.nodes.{spec.executable}" in script.read_text()
        for name, value in spec.parameters.items():
            assert name in table, f"{spec.executable} has no parameter {name}"
            assert type(value) is type(table[name][0]), name
    assert replay.parameters["dataset"] == "femto" and replay.parameters["bearing"] == "Bearing1_3"
    # true snapshot times: RUL in seconds is only right when the 10 s gaps are kept
    assert not replay.parameters.get("compress_gaps", False)
    assert rul.parameters["asset_id"] == "Bearing1_3"


@pytest.mark.parametrize("name", ["monitor.launch.py", "test_rig.launch.py"])
def test_rviz_is_an_option_off_by_default_with_the_shipped_layout(name):
    tree = _launch_tree(ROOT / "launch" / name)
    defaults = {node.args[0].value: kw.value.value for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "id", "")
                == "DeclareLaunchArgument" for kw in node.keywords if kw.arg == "default_value"
                and isinstance(kw.value, ast.Constant)}
    assert defaults.get("rviz") == "false"
    source = (ROOT / "launch" / name).read_text()
    assert 'config_file("pm_monitor.rviz")' in source
    assert (ROOT / "config" / "pm_monitor.rviz").is_file()


def test_real_data_plan_replays_every_modality_into_the_real_data_profile():
    from pm_monitor.nodes import replay_node

    replay, monitor = real_data_plan("Bearing1_3", 2.0)
    for name, value in replay.parameters.items():
        assert name in replay_node.PARAMETERS, f"replay_node has no parameter {name}"
        assert type(value) is type(replay_node.PARAMETERS[name][0]), name
    assert set(replay.parameters["dataset"].split(",")) == {
        "femto", "thermal_motor", "neu_surface", "machine_sound"}
    # one snapshot per window, in the unit the health-state model was trained in
    assert replay.parameters["compress_gaps"] and replay.parameters["accel_unit"] == "g"
    _check_spec(monitor)
    descriptor = Path(monitor.parameters["model_dir"]) / "model_set.json"
    assert descriptor.is_file(), descriptor
