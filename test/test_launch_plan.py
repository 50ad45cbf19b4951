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
    LAUNCH_ARGUMENTS,
    MONITOR_INPUTS,
    LaunchArgumentError,
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
    assert args[args.index("--log-level") + 1] == "line3.pm_monitor:=debug"
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


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_files_build_their_nodes_from_the_plan(launch_file):
    """A launch file only asks pm_monitor.launch_actions for its description: arguments and
    nodes come from the plan tested here."""
    tree = _launch_tree(launch_file)
    functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", "") == "describe"]
    assert [c.args[0].value for c in calls] == [launch_file.name]
    assert launch_file.name in LAUNCH_ARGUMENTS


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_argument_has_a_description_and_its_allowed_values(launch_file):
    arguments = LAUNCH_ARGUMENTS[launch_file.name]
    assert len({a.name for a in arguments}) == len(arguments)
    for argument in arguments:
        text = argument.full_description()
        assert len(argument.description) > 15, argument.name
        assert argument.choices or "Allowed:" in text, argument.name
        argument.parse(argument.default)  # every default is a valid value
    # the defaults alone give a plan that starts (shipped files exist, names are valid)
    assert launch_plan.launch_plan(launch_file.name, {}, lambda package: False)


@pytest.mark.parametrize("launch_file, argument, value", [
    ("test_rig.launch.py", "speed_factor", "fast"),
    ("test_rig.launch.py", "speed_factor", "0"),
    ("test_rig.launch.py", "seed", "1.5"),
    ("test_rig.launch.py", "fault_schedule", "/no/such/schedule.yaml"),
    ("monitor.launch.py", "autostart", "maybe"),
    ("monitor.launch.py", "use_sim_time", "yes"),
    ("monitor.launch.py", "params_file", "/no/such/monitor.yaml"),
    ("monitor.launch.py", "log_level", "loud"),
    ("monitor.launch.py", "accel", "not a topic"),
    ("inspection_robot.launch.py", "params_file", "/no/such/robot.yaml"),
    ("femto_rul.launch.py", "speed_factor", "nan"),
    ("real_data.launch.py", "bearing", "Bearing9"),
])
def test_a_bad_value_names_its_argument_before_any_node_is_planned(launch_file, argument,
                                                                   value):
    with pytest.raises(LaunchArgumentError) as caught:
        launch_plan.launch_plan(launch_file, {argument: value}, lambda package: True)
    assert f"launch argument '{argument}'" in str(caught.value)
    assert caught.value.argument == argument


def test_rviz_without_rviz2_is_refused_up_front_and_added_when_installed():
    """A launch that failed on a missing rviz2 half way left the monitor and the rig running
    as orphans; now nothing is planned at all."""
    with pytest.raises(LaunchArgumentError, match="rviz2"):
        launch_plan.launch_plan("test_rig.launch.py", {"rviz": "true"}, lambda package: False)
    specs = launch_plan.launch_plan("monitor.launch.py", {"rviz": "true"},
                                    lambda package: package == "rviz2")
    assert [s.executable for s in specs] == ["monitor_node", "rviz2"]
    assert specs[1].package == "rviz2" and specs[1].on_exit == "never"
    assert specs[1].arguments[0] == "-d" and specs[1].arguments[1].endswith("pm_monitor.rviz")


def test_rul_in_is_remappable_in_monitor_launch():
    (spec,) = launch_plan.launch_plan("monitor.launch.py", {"rul_in": "/rul_node/rul"})
    assert ("rul_in", "/rul_node/rul") in spec.remappings


def test_log_level_applies_to_our_nodes_loggers_only_unless_asked():
    (spec,) = launch_plan.launch_plan("monitor.launch.py",
                                      {"log_level": "debug", "namespace": "line3"})
    assert spec.log_level_args() == ["--log-level", "line3.pm_monitor:=debug"]
    args = spec.ros_args()
    assert args[args.index("--log-level") + 1] == "line3.pm_monitor:=debug"
    (every,) = launch_plan.launch_plan("monitor.launch.py",
                                       {"log_level": "debug", "log_level_all": "true"})
    assert every.log_level_args() == ["--log-level", "debug"]
    rig, _ = launch_plan.launch_plan("test_rig.launch.py", {"log_level": "warn"})
    assert rig.log_level_args() == ["--log-level", "rig:=warn"]


def test_an_essential_node_ending_in_error_shuts_the_launch_down():
    """rig or replay exiting on error takes the monitor with it; a finished replay (exit 0)
    does not: every node of our plans has the "error" policy, only RViz is left alone."""
    for name in ("test_rig.launch.py", "femto_rul.launch.py", "real_data.launch.py",
                 "monitor.launch.py", "inspection_robot.launch.py"):
        for spec in launch_plan.launch_plan(name, {}):
            assert spec.on_exit == "error", (name, spec.name)
    assert set(launch_plan.EXIT_POLICIES) == {"error", "always", "never"}


def test_launch_actions_attach_the_exit_policy_to_every_node():
    """The launch-side half (pm_monitor/launch_actions.py, `launch` needed to import it):
    every Node gets an OnProcessExit handler unless its policy is "never", and the handler
    emits Shutdown on a non-zero exit code only."""
    source = (ROOT / "pm_monitor" / "launch_actions.py").read_text()
    assert "OnProcessExit(target_action=node" in source
    assert 'spec.on_exit == "always" or event.returncode != 0' in source
    assert "Shutdown(" in source


def test_three_profiles_exist_and_monitor_launch_takes_the_integration_arguments():
    assert {p.name for p in LAUNCH_FILES} >= {
        "monitor.launch.py", "test_rig.launch.py", "inspection_robot.launch.py"}
    declared = {a.name for a in LAUNCH_ARGUMENTS["monitor.launch.py"]}
    assert declared >= {"namespace", "params_file", "use_sim_time", "log_level", "autostart",
                        "rul_in", *INPUT_ARGUMENTS}


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
    (rviz,) = [a for a in LAUNCH_ARGUMENTS[name] if a.name == "rviz"]
    assert rviz.default == "false" and rviz.choices == ("true", "false")
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


def test_the_robot_selects_the_visited_machines_asset_file():
    (spec,) = inspection_robot_plan(asset_id="cwru_motor")
    assert spec.parameters["asset_file"].endswith("config/assets/cwru_motor.yaml")
    (spec,) = inspection_robot_plan(asset_id="pump_7", asset_file="/robot/assets/pump_7.yaml")
    assert spec.parameters["asset_file"] == "/robot/assets/pump_7.yaml"
    (spec,) = inspection_robot_plan(asset_id="unknown_machine")
    assert "asset_file" not in spec.parameters


def test_transport_arguments_reach_the_monitor_only_when_given():
    (spec,) = launch_plan.launch_plan("monitor.launch.py", {"camera_transport": "compressed"})
    assert spec.parameters["camera_transport"] == "compressed"
    assert "thermal_transport" not in spec.parameters  # the params file's value stays
    (robot,) = launch_plan.launch_plan("inspection_robot.launch.py",
                                       {"thermal_transport": "compressedDepth"})
    assert robot.parameters["thermal_transport"] == "compressedDepth"
    with pytest.raises(launch_plan.LaunchArgumentError, match="camera_transport"):
        launch_plan.launch_plan("monitor.launch.py", {"camera_transport": "theora"})
