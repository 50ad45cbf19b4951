from pathlib import Path

import pytest
import yaml

from pm_monitor.core.assets.description import load, parse
from pm_monitor.core.config_schema import ConfigError

ASSETS = sorted(Path("config/assets").glob("*.yaml"))


@pytest.mark.parametrize("path", ASSETS, ids=[p.stem for p in ASSETS])
def test_every_shipped_asset_file_is_valid(path):
    asset = load(path)
    assert asset.asset_id == path.stem
    assert set(asset.axes.values()) <= set(asset.bearings)


def test_examples_cover_femto_cwru_the_rig_and_a_fan_by_sound():
    assert {p.stem for p in ASSETS} >= {"cwru_motor", "femto_bearing", "rig_motor", "mimii_fan"}
    fan = load("config/assets/mimii_fan.yaml")
    assert not fan.accelerometer and fan.microphone and fan.bearings == {}
    femto = load("config/assets/femto_bearing.yaml")
    assert femto.bearings["test_bearing"].outer_race == pytest.approx(13 / 2 * (1 - 3.5 / 25.6))


def test_every_problem_is_reported_at_once():
    data = yaml.safe_load(Path("config/assets/cwru_motor.yaml").read_text())
    data["asset"]["iso"]["machine_group"] = 5
    data["asset"]["shaft_speed"]["source"] = "guess"
    data["asset"]["bearings"]["drive_end"]["geometry"].pop("n_balls")
    data["asset"]["axes"]["DE"] = "nowhere"
    data["asset"]["speling"] = 1
    with pytest.raises(ConfigError) as err:
        parse(data, "x.yaml")
    text = str(err.value)
    for part in ("machine_group", "guess", "n_balls: required", "unknown bearing", "speling"):
        assert part in text
    assert "x.yaml" in text


def test_orders_instead_of_geometry_and_topic_speed():
    asset = parse({"asset": {
        "id": "pump_7", "shaft_speed": {"source": "topic", "topic": "/pump_7/rpm",
                                        "nominal_rpm": 1480.0},
        "bearings": {"de": {"orders": {"outer_race": 3.05, "inner_race": 4.95, "ball": 3.99,
                                       "cage": 0.38}}}}})
    assert asset.shaft_speed.topic == "/pump_7/rpm"
    assert asset.bearings_of("any_axis") == asset.bearings
    with pytest.raises(ConfigError, match="topic: required"):
        parse({"asset": {"id": "p", "shaft_speed": {"source": "topic"},
                         "bearings": {"de": {"orders": {"outer_race": 3.0, "inner_race": 5.0,
                                                        "ball": 4.0, "cage": 0.4}}}}})


def test_microphone_and_analysis_window_are_optional_and_checked():
    base = {"id": "p", "bearings": {"b": {"orders": {"outer_race": 3.0, "inner_race": 5.0,
                                                     "ball": 2.0, "cage": 0.4}}}}
    plain = parse({"asset": base})
    assert not plain.microphone and plain.window_s == 0.0
    full = parse({"asset": {**base, "microphone": {"enabled": True},
                            "analysis": {"window_s": 0.1, "hop_s": 0.1}}})
    assert full.microphone and (full.window_s, full.hop_s) == (0.1, 0.1)
    assert full.microphone_alone_s == 30.0
    with pytest.raises(ConfigError, match=r"microphone\.alone_s"):
        parse({"asset": {**base, "microphone": {"enabled": True, "alone_s": 0.0}}})
    with pytest.raises(ConfigError, match="both window_s and hop_s"):
        parse({"asset": {**base, "analysis": {"window_s": 0.1}}})
    with pytest.raises(ConfigError, match="longer than window_s"):
        parse({"asset": {**base, "analysis": {"window_s": 0.1, "hop_s": 0.2}}})


def test_a_microphone_only_asset_needs_no_bearings_but_some_sensor():
    fan = parse({"asset": {"id": "fan_3", "accelerometer": {"enabled": False},
                           "microphone": {"enabled": True}}})
    assert not fan.accelerometer and fan.microphone and fan.bearings == {} and fan.axes == {}
    # a fan may still declare a bearing (kept for later), axes need an accelerometer
    with pytest.raises(ConfigError, match="axes: accelerometer axes declared"):
        parse({"asset": {"id": "fan_3", "accelerometer": {"enabled": False},
                         "microphone": {"enabled": True}, "axes": {"x": "b"},
                         "bearings": {"b": {"orders": {"outer_race": 3.0, "inner_race": 5.0,
                                                       "ball": 2.0, "cage": 0.4}}}}})
    with pytest.raises(ConfigError, match="no sensor declared") as err:
        parse({"asset": {"id": "fan_3", "accelerometer": {"enabled": False}}}, "fan_3.yaml")
    assert "fan_3.yaml" in str(err.value)
    with pytest.raises(ConfigError, match=r"accelerometer\.enabled"):
        parse({"asset": {"id": "fan_3", "accelerometer": {"enabled": "no"},
                         "microphone": {"enabled": True}}})
    # with the accelerometer (the default), bearings stay required, with the way out named
    with pytest.raises(ConfigError, match=r"bearings: .*accelerometer: \{enabled: false\}"):
        parse({"asset": {"id": "pump_7", "microphone": {"enabled": True}}})
