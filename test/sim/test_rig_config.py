"""RigConfig defaults and from_dict validation."""
import pytest

from pm_monitor.core.signals.bearing import BearingGeometry
from pm_monitor.sim.config import RigConfig, RigConfigError


def test_defaults_describe_the_cwru_like_rig():
    config = RigConfig()
    assert config.shaft_hz == pytest.approx(1797 / 60, abs=0.01)
    assert config.bearing == BearingGeometry(9, 7.94, 39.04, 0.0)
    assert (config.accel_rate, config.mic_rate) == (25600.0, 16000.0)
    assert config.accel_channels == ("x", "y", "z")
    assert (config.thermal_width, config.thermal_height) == (160, 120)
    assert (config.camera_width, config.camera_height) == (320, 240)
    assert config.ambient_c == 25.0


def test_from_dict_converts_lists_ints_and_nested_bearing():
    config = RigConfig.from_dict({
        "shaft_hz": 25,
        "accel_channels": ["ax", "ay", "az"],
        "bearing": {"n_balls": 8, "ball_diameter_mm": 6.75},
    })
    assert config.shaft_hz == 25.0 and isinstance(config.shaft_hz, float)
    assert config.accel_channels == ("ax", "ay", "az")
    assert config.bearing == BearingGeometry(8, 6.75, 39.04, 0.0)
    assert RigConfig.from_dict(None) == RigConfig()


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"shaft_rpm": 1800}, ["shaft_rpm", "1800"]),
        ({"shaft_hz": "fast"}, ["shaft_hz", "fast"]),
        ({"shaft_hz": True}, ["shaft_hz", "True"]),
        ({"shaft_hz": -3.0}, ["shaft_hz", "-3.0"]),
        ({"thermal_width": 160.5}, ["thermal_width", "160.5"]),
        ({"accel_channels": "xyz"}, ["accel_channels", "xyz"]),
        ({"accel_channels": ["x", "y"]}, ["accel_channels"]),
        ({"accel_axis_gains": [1.0, 1.0]}, ["accel_axis_gains"]),
        ({"bearing": {"balls": 9}}, ["bearing.balls"]),
        ({"bearing": {"ball_diameter_mm": 50.0}}, ["bearing", "ball_diameter_mm"]),
        ({"resonance_hz": 13000.0}, ["resonance_hz", "Nyquist"]),
        ({"resonance_damping": 1.5}, ["resonance_damping"]),
        ({"camera_noise": float("nan")}, ["camera_noise", "nan"]),
    ],
)
def test_from_dict_errors_name_key_and_value(data, fragments):
    with pytest.raises(RigConfigError) as error:
        RigConfig.from_dict(data)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_acoustic_delay_is_distance_over_speed_of_sound():
    assert RigConfig(mic_distance_m=3.43).acoustic_delay_s == pytest.approx(0.01)
