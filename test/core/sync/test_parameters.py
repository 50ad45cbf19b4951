"""The synchroniser's parameter table and what is built from it (parameters.py)."""
from __future__ import annotations

import pytest

from pm_monitor.core.sync.parameters import SYNC_PARAMETERS, arrival_inputs, clock_offsets_from

DEFAULTS = {name: spec.default for name, spec in SYNC_PARAMETERS.items()}


def test_defaults_build_clock_models_for_every_input_but_the_reference():
    clocks = clock_offsets_from(DEFAULTS, ("accel", "mic"), ("thermal", "camera"))
    assert clocks.inputs == ("mic", "thermal", "camera")
    assert clocks.config.search_range_s == 0.05 and clocks.config.apply
    assert clocks.stamp_by_arrival == frozenset()


def test_stamp_by_arrival_takes_known_inputs_only():
    assert arrival_inputs(" mic, camera ", ("accel", "mic", "camera")) == ("mic", "camera")
    with pytest.raises(ValueError, match="unknown inputs"):
        arrival_inputs("lidar", ("accel", "mic"))
    clocks = clock_offsets_from({**DEFAULTS, "stamp_by_arrival": "camera"}, ("accel", "mic"),
                                ("camera",))
    assert clocks.stamp_by_arrival == frozenset({"camera"})
