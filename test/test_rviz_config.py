"""config/pm_monitor.rviz: valid RViz2 YAML showing camera, thermal, heatmap and markers on
the topics the rig and the monitor really use."""
from pathlib import Path

import yaml

from pm_monitor.launch_plan import simulated_rig_plan

RVIZ = Path(__file__).resolve().parents[1] / "config" / "pm_monitor.rviz"


def _displays() -> dict[str, dict]:
    config = yaml.safe_load(RVIZ.read_text())
    manager = config["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "asset"  # the monitor's asset_frame_id
    return {d["Name"]: d for d in manager["Displays"]}


def test_displays_and_classes():
    displays = _displays()
    for name in ("Camera", "Thermal", "Heatmap", "Camera heatmap"):
        assert displays[name]["Class"] == "rviz_default_plugins/Image"
    assert displays["Asset state"]["Class"] == "rviz_default_plugins/MarkerArray"
    assert all(d["Class"].startswith("rviz_default_plugins/") for d in displays.values())


def test_topics_match_the_rig_and_the_monitor():
    displays = _displays()
    specs = {spec.name: spec for spec in simulated_rig_plan()}
    rig_topics = {target for _, target in specs["pm_monitor"].remappings}
    assert displays["Camera"]["Topic"]["Value"] in rig_topics
    assert displays["Thermal"]["Topic"]["Value"] in rig_topics
    # the monitor node is /pm_monitor; its private outputs are ~/heatmap and ~/markers
    assert displays["Heatmap"]["Topic"]["Value"] == "/pm_monitor/heatmap"
    # the camera model's map (real-data profile) beside the thermal one
    assert displays["Camera heatmap"]["Topic"]["Value"] == "/pm_monitor/camera_heatmap"
    assert displays["Asset state"]["Topic"]["Value"] == "/pm_monitor/markers"
    # heatmaps are published reliable: a best-effort subscriber would still match, but the
    # layout asks for what the publisher offers
    assert displays["Heatmap"]["Topic"]["Reliability Policy"] == "Reliable"
