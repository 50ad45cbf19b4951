import pytest

from pm_monitor.core.alarms.config import ALARM_PARAMETERS, AlarmConfig


def test_defaults_match_the_parameter_spec():
    config = AlarmConfig()
    assert config.to_parameters() == {name: spec[0] for name, spec in ALARM_PARAMETERS.items()}
    for name, (default, description, bounds) in ALARM_PARAMETERS.items():
        assert description, name
        if bounds is not None:
            assert bounds[0] <= default <= bounds[1], name


def test_round_trip_through_parameters():
    config = AlarmConfig(on_delay_windows_warning=4, iso_foundation="flexible",
                         iso_zone_boundaries_mm_s=(1.0, 2.0, 3.0))
    assert AlarmConfig.from_parameters(config.to_parameters()) == config


@pytest.mark.parametrize(("name", "value", "message"), [
    ("on_delay_windows_failure", 0, "on_delay_windows_failure must be in"),
    ("flood_node_max_alarms", 2.5, "flood_node_max_alarms must be an integer"),
    ("score_deadband", 0.95, "score_deadband must be in"),
    ("update_period_s", float("nan"), "update_period_s must be finite"),
    ("zone_alarm_enabled", 1, "zone_alarm_enabled must be a bool"),
    ("iso_foundation", "concrete", "iso_foundation must be one of"),
    ("iso_machine_group", 3, "iso_machine_group must be in"),
    ("iso_zone_boundaries_mm_s", (3.0, 2.0, 1.0), "iso_zone_boundaries_mm_s must be 3"),
    ("iso_zone_boundaries_mm_s", (1.0, 2.0), "iso_zone_boundaries_mm_s must have 3"),
    ("iso_band_low_hz", 5000.0, "iso_band_low_hz must be in"),
])
def test_invalid_values_name_the_field(name, value, message):
    with pytest.raises(ValueError, match=message):
        AlarmConfig(**{name: value})


def test_band_order_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="iso_band_low_hz"):
        AlarmConfig(iso_band_low_hz=500.0, iso_band_high_hz=400.0)
    with pytest.raises(ValueError, match="unknown alarm parameter"):
        AlarmConfig.from_parameters({"on_delay": 3})


def test_zone_table_from_group_and_foundation():
    assert AlarmConfig().zone_table().boundaries_mm_s == (1.4, 2.8, 4.5)
    table = AlarmConfig(iso_machine_group=1, iso_foundation="flexible").zone_table()
    assert table.boundaries_mm_s == (3.5, 7.1, 11.0)
    custom = AlarmConfig(iso_zone_boundaries_mm_s=(1.0, 2.0, 3.0)).zone_table()
    assert custom.boundaries_mm_s == (1.0, 2.0, 3.0) and "custom" in custom.source


def test_prefixed_parameter_names_for_a_node_table():
    from pm_monitor.core.alarms import prefixed_parameters
    from pm_monitor.core.config_schema import merge_tables

    table = merge_tables(prefixed_parameters("alarm_"))
    assert "alarm_flood_node_max_alarms" in table and len(table) == len(ALARM_PARAMETERS)
    values = {name: spec.default for name, spec in table.items()}
    values.update({"alarm_on_delay_windows_failure": 2, "asset_id": "not an alarm parameter"})
    config = AlarmConfig.from_parameters(values, prefix="alarm_")
    assert config.on_delay_windows_failure == 2
