"""The synchroniser's parameters (plain data: the monitor node declares them, config tests
validate YAML against them) and the objects built from them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from pm_monitor.core.config_schema import ParamSpec
from pm_monitor.core.sync.clock_offsets import ClockConfig, ClockOffsets

# Read-only: they shape the synchroniser and the clock estimators, built at configure.
SYNC_PARAMETERS: dict[str, ParamSpec] = {
    "sync_latency_budget_s": ParamSpec(
        0.1, "Longest stream time a camera/thermal frame set is held to prove it the "
             "tightest; then it is used as it stands (counted in /diagnostics) (s).",
        (0.0, 2.0), read_only=True),
    "sync_drop_warn_s": ParamSpec(
        5.0, "WARN in /diagnostics when an input has had everything dropped this long (s).",
        (0.1, 3600.0), read_only=True),
    "clock_reference": ParamSpec(
        "accel", "Input whose clock the others' offsets are measured against.",
        read_only=True, choices=("accel", "mic", "thermal", "camera")),
    "clock_search_range_s": ParamSpec(
        0.05, "Largest clock offset looked for by envelope cross-correlation (s); an offset "
              "found beyond it is reported out of range and not corrected.",
        (0.005, 1.0), read_only=True),
    "clock_correction": ParamSpec(
        True, "Correct stamps by the estimated clock offsets (only when confident).",
        read_only=True),
    "clock_offset_tolerance_s": ParamSpec(
        0.05, "An uncorrected offset beyond this is an ERROR in /diagnostics (s).",
        (0.001, 10.0), read_only=True),
    "stamp_by_arrival": ParamSpec(
        "", "Inputs (comma-separated: accel, mic, thermal, camera) stamped by their arrival "
            "on the node clock instead of their header, for drivers with broken clocks.",
        read_only=True),
}


def arrival_inputs(value: str, known: Iterable[str]) -> tuple[str, ...]:
    """The stamp_by_arrival list; an unknown input name is refused (ValueError)."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"stamp_by_arrival names unknown inputs {unknown}; "
                         f"known: {sorted(known)}")
    return names


def clock_offsets_from(values: Mapping[str, object], streams: Iterable[str],
                       images: Iterable[str]) -> ClockOffsets:
    streams, images = tuple(streams), tuple(images)
    config = ClockConfig(reference=str(values["clock_reference"]),
                         search_range_s=float(values["clock_search_range_s"]),
                         tolerance_s=float(values["clock_offset_tolerance_s"]),
                         apply=bool(values["clock_correction"]))
    arrival = arrival_inputs(str(values["stamp_by_arrival"]), streams + images)
    return ClockOffsets(config, streams, images, stamp_by_arrival=arrival)
