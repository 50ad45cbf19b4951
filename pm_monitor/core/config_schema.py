"""Parameter spec tables and the validation of `ros__parameters` against them (pure core).

A node's parameters are one table `{name: ParamSpec(default, description, range, ...)}`; a
plain `(default, description, range-or-None)` tuple is accepted too, so other modules (alarms,
inference) can publish their own tables and a node merges them with `merge_tables`.
The same table drives the ROS declarations (`pm_monitor.nodes.params`), the check of every
YAML in config/ (tests), the check of the overrides a node receives (at configure) and the
README parameter table (`markdown_table`). Every problem is collected, then reported at once
as one `ConfigError`, so a user fixes a file in one go instead of one typo per start.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import yaml

ParamValue = bool | int | float | str | list


class ParamSpec(NamedTuple):
    """One parameter. `range` is inclusive (like ROS FloatingPointRange / IntegerRange);
    `read_only` parameters are fixed after start-up (a change would need a re-configure);
    `choices` restricts a string parameter to a set of values."""

    default: ParamValue
    description: str
    range: tuple[float, float] | None = None
    read_only: bool = False
    choices: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        return _type_name(self.default)


ParamTable = Mapping[str, ParamSpec]

# Declared by rclpy itself on every node; a params file may set them for any node.
ROS_BUILTIN_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})
ROS_BUILTIN_PREFIXES = ("qos_overrides.",)


class ConfigError(ValueError):
    """A configuration with problems; `problems` lists each one in words."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} configuration {noun}{where}: "
                         + "; ".join(problems))


def as_spec(entry: ParamSpec | tuple) -> ParamSpec:
    """A ParamSpec from a ParamSpec or a plain tuple (default, description[, constraint]),
    where the constraint is None, an inclusive (low, high) range, or a tuple of the allowed
    strings (the shapes the alarm and inference modules publish)."""
    if isinstance(entry, ParamSpec):
        return entry
    if not isinstance(entry, tuple) or not 2 <= len(entry) <= 3:
        raise TypeError(f"a parameter spec is (default, description, range-or-choices-or-None),"
                        f" got {entry!r}")
    default, description, *rest = entry
    constraint = rest[0] if rest else None
    if constraint is None:
        return ParamSpec(default, description)
    if all(isinstance(c, str) for c in constraint):
        return ParamSpec(default, description, choices=tuple(constraint))
    low, high = constraint
    return ParamSpec(default, description, (low, high))


def prefixed(table: Mapping[str, ParamSpec | tuple], prefix: str) -> dict[str, ParamSpec]:
    """The same parameters under `prefix` (e.g. "alarm." puts them in a ROS sub-namespace:
    `alarm.update_period_s`, nested under `alarm:` in YAML)."""
    return {f"{prefix}{name}": as_spec(entry) for name, entry in table.items()}


def merge_tables(*tables: Mapping[str, ParamSpec | tuple]) -> dict[str, ParamSpec]:
    """One table from several (a node's own + alarm + inference ...); a name defined twice is
    a programming error, reported with the name so the owners can agree on one."""
    merged: dict[str, ParamSpec] = {}
    for table in tables:
        for name, entry in table.items():
            if name in merged:
                raise ValueError(f"parameter {name!r} is defined by two spec tables")
            spec = as_spec(entry)
            problem = check_value(name, spec.default, spec)
            if problem:
                raise ValueError(f"default of {problem}")
            merged[name] = spec
    return merged


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def check_value(name: str, value: object, spec: ParamSpec) -> str | None:
    """Why `value` is not acceptable for parameter `name`, or None if it is.

    Types are strict as in ROS: an integer for a float parameter is refused (rclpy would
    refuse it too), with the hint to write it with a decimal point."""
    expected, got = spec.type_name, _type_name(value)
    if expected != got:
        hint = f" (write {value}.0)" if expected == "float" and got == "integer" else ""
        return f"{name}: expected {expected}, got {got} {value!r}{hint}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: must be a finite number, got {value!r}"
    if isinstance(value, list | tuple) and spec.default:
        element = _type_name(spec.default[0])
        wrong = [v for v in value if _type_name(v) != element]
        if wrong:  # ROS arrays are typed: [0, 1] is an integer array, not a double array
            return f"{name}: expected a list of {element}s, got {list(value)!r}"
    if spec.range is not None and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = spec.range
        if not low <= value <= high:
            return f"{name}: {value!r} is outside [{low}, {high}]"
    if spec.choices and value not in spec.choices:
        return f"{name}: {value!r} is not one of {', '.join(map(repr, spec.choices))}"
    return None


def is_builtin(name: str) -> bool:
    return name in ROS_BUILTIN_PARAMETERS or name.startswith(ROS_BUILTIN_PREFIXES)


def problems_of(values: Mapping[str, object], table: ParamTable) -> list[str]:
    """Every problem of a {name: value} set: unknown names, wrong types, out of range."""
    problems = []
    for name, value in values.items():
        spec = table.get(name)
        if spec is None:
            if not is_builtin(name):
                problems.append(f"{name}: unknown parameter{_did_you_mean(name, table)}")
            continue
        problem = check_value(name, value, spec)
        if problem:
            problems.append(problem)
    return problems


def validate(values: Mapping[str, object], table: ParamTable, source: str = "") -> None:
    """Raise one ConfigError listing every problem of `values`, or return."""
    problems = problems_of(values, table)
    if problems:
        raise ConfigError(problems, source)


def _did_you_mean(name: str, table: Iterable[str]) -> str:
    import difflib
    close = difflib.get_close_matches(name, list(table), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested YAML maps are dotted parameter names in ROS (`qos_overrides./x.depth`)."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def selector_matches(selector: str, node_name: str, namespace: str = "") -> bool:
    """Whether a params-file key (`/**`, `/**/name`, `name`, `/ns/name`) applies to a node."""
    namespace = "/" + namespace.strip("/") if namespace.strip("/") else ""
    fqn = f"{namespace}/{node_name}"
    if selector in ("/**", "/**/*"):
        return True
    if selector.startswith("/**/"):
        return selector[4:] == node_name
    return ("/" + selector.lstrip("/")) == fqn


def load_params_file(path: str | Path, node_name: str,
                     namespace: str = "") -> dict[str, object]:
    """The `ros__parameters` a params file gives one node (all sections that match it, in
    file order). Raises ConfigError for a file that is not a ROS params file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError([f"cannot read: {err}"], str(path)) from None
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(["not a map of node selectors to ros__parameters"], str(path))
    problems: list[str] = []
    values: dict[str, object] = {}
    for selector, body in data.items():
        if not isinstance(body, Mapping) or set(body) != {"ros__parameters"}:
            problems.append(f"{selector}: expected exactly one key, ros__parameters")
            continue
        if body["ros__parameters"] is not None and not isinstance(body["ros__parameters"],
                                                                  Mapping):
            problems.append(f"{selector}: ros__parameters must be a map")
            continue
        if selector_matches(str(selector), node_name, namespace):
            values.update(flatten(body["ros__parameters"] or {}))
    if problems:
        raise ConfigError(problems, str(path))
    return values


def validate_params_file(path: str | Path, node_name: str, table: ParamTable,
                         namespace: str = "") -> dict[str, object]:
    """Load the parameters a file gives a node and validate them; return them."""
    values = load_params_file(path, node_name, namespace)
    validate(values, table, str(path))
    return values


MARKDOWN_HEADER = ("| name | type | default | range | changes | meaning |\n"
                   "|---|---|---|---|---|---|")


def markdown_rows(table: ParamTable) -> list[str]:
    """One README table row per parameter (see MARKDOWN_HEADER)."""
    return [f"| `{name}` | {spec.type_name} | {format_default(spec.default)} | "
            f"{format_range(spec)} | {'start-up only' if spec.read_only else 'at run time'} | "
            f"{spec.description} |" for name, spec in table.items()]


def markdown_table(table: ParamTable) -> str:
    """The README table of a spec table."""
    return "\n".join([MARKDOWN_HEADER, *markdown_rows(table)])


def format_default(value: ParamValue) -> str:
    return f"`{value!r}`"


def format_range(spec: ParamSpec) -> str:
    if spec.choices:
        return " / ".join(f"`{c}`" for c in spec.choices)
    if spec.range is None:
        return ""
    as_int = isinstance(spec.default, int) and not isinstance(spec.default, bool)
    low, high = (f"{int(v)}" if as_int else f"{v:g}" for v in spec.range)
    return f"{low} .. {high}"
