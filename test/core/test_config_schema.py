"""Spec tables and ros__parameters validation (pure core: no ROS)."""
from __future__ import annotations

import pytest

from pm_monitor.core.config_schema import (
    ConfigError,
    ParamSpec,
    as_spec,
    check_value,
    load_params_file,
    markdown_table,
    merge_tables,
    prefixed,
    problems_of,
    selector_matches,
    validate,
    validate_params_file,
)

TABLE = merge_tables({
    "rate_hz": ParamSpec(10.0, "Rate.", (0.1, 100.0)),
    "count": ParamSpec(3, "Count.", (1, 10)),
    "mode": ParamSpec("fast", "Mode.", choices=("fast", "exact")),
    "enabled": ParamSpec(True, "On."),
    "bounds": ParamSpec([0.0, 1.0], "Bounds."),
    "alarm.max_s": ParamSpec(60.0, "Nested.", (1.0, 600.0)),
})


def test_plain_tuples_of_other_modules_become_specs():
    assert as_spec((1.0, "gain", (0.0, 2.0))).range == (0.0, 2.0)
    assert as_spec(("auto", "backend", ("auto", "torch"))).choices == ("auto", "torch")
    assert as_spec((False, "flag", None)) == ParamSpec(False, "flag")
    assert as_spec((5, "two fields")) == ParamSpec(5, "two fields")
    with pytest.raises(TypeError):
        as_spec(("only a default",))
    table = prefixed({"update_period_s": (5.0, "period", (0.1, 10.0))}, "alarm.")
    assert list(table) == ["alarm.update_period_s"]


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("rate_hz", 1, "rate_hz: expected float, got integer 1 (write 1.0)"),
    ("rate_hz", 500.0, "rate_hz: 500.0 is outside [0.1, 100.0]"),
    ("rate_hz", float("nan"), "rate_hz: must be a finite number"),
    ("count", 2.5, "count: expected integer, got float 2.5"),
    ("count", True, "count: expected integer, got bool True"),
    ("enabled", "yes", "enabled: expected bool, got string 'yes'"),
    ("mode", "slow", "mode: 'slow' is not one of 'fast', 'exact'"),
    ("bounds", [0, 1], "bounds: expected a list of floats, got [0, 1]"),
])
def test_each_wrong_value_gets_a_reason(name, value, problem):
    assert check_value(name, value, TABLE[name]).startswith(problem)


def test_good_values_pass():
    for name, value in {"rate_hz": 0.1, "count": 10, "mode": "exact", "enabled": False,
                        "bounds": [2.0, 3.0], "alarm.max_s": 600.0}.items():
        assert check_value(name, value, TABLE[name]) is None


def test_all_problems_are_reported_in_one_error():
    values = {"rate_hz": 1, "cuont": 3, "mode": "slow", "use_sim_time": True,
              "qos_overrides./x.subscription.depth": 10}
    assert len(problems_of(values, TABLE)) == 3
    with pytest.raises(ConfigError) as caught:
        validate(values, TABLE, "my.yaml")
    message = str(caught.value)
    assert message.startswith("3 configuration problems in my.yaml: ")
    assert "cuont: unknown parameter (did you mean 'count'?)" in message


@pytest.mark.parametrize(("selector", "node", "namespace", "matches"), [
    ("/**", "pm_monitor", "", True),
    ("/**", "rig", "line3", True),
    ("/**/pm_monitor", "pm_monitor", "robot/arm", True),
    ("/**/pm_monitor", "rig", "", False),
    ("pm_monitor", "pm_monitor", "", True),
    ("pm_monitor", "pm_monitor", "line3", False),
    ("/line3/pm_monitor", "pm_monitor", "/line3", True),
])
def test_params_file_selectors(selector, node, namespace, matches):
    assert selector_matches(selector, node, namespace) is matches


def test_params_file_sections_merge_and_nested_keys_flatten(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters:\n    rate_hz: 5.0\n    alarm:\n      max_s: 30.0\n"
                    "pm_monitor:\n  ros__parameters:\n    rate_hz: 7.0\n"
                    "rig:\n  ros__parameters:\n    seed: 3\n")
    values = validate_params_file(path, "pm_monitor", TABLE)
    assert values == {"rate_hz": 7.0, "alarm.max_s": 30.0}


@pytest.mark.parametrize("text", ["just a string", "/**:\n  parameters:\n    a: 1\n",
                                  "/**:\n  ros__parameters: [1, 2]\n", "{{{"])
def test_a_file_that_is_not_a_params_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_params_file(path, "pm_monitor")
    with pytest.raises(ConfigError, match="cannot read"):
        load_params_file(tmp_path / "missing.yaml", "pm_monitor")


def test_merge_refuses_duplicates_and_bad_defaults_and_markdown_lists_every_parameter():
    with pytest.raises(ValueError, match="two spec tables"):
        merge_tables(TABLE, {"count": (1, "again")})
    with pytest.raises(ValueError, match="not one of"):
        merge_tables({"mode": ParamSpec("slow", "m", choices=("fast",))})
    rows = markdown_table(TABLE).splitlines()[2:]
    assert len(rows) == len(TABLE)
    assert rows[1] == "| `count` | integer | `3` | 1 .. 10 | at run time | Count. |"
