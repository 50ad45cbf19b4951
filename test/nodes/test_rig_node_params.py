"""The simulated rig node checks its parameters against its spec table at start-up."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("params", "problem"), [
    (["-p", "speed_factor:=0.0"], "speed_factor: 0.0 is outside [0.01, 100.0]"),
    (["-p", "thermal_encoding:=rgb8"], "thermal_encoding: 'rgb8' is not one of"),
    (["-p", "camera_hz:=30", "-p", "sped_factor:=2.0"], "2 configuration problems"),
])
def test_invalid_rig_parameters_end_with_one_clear_line(params, problem):
    proc = subprocess.run([sys.executable, "-m", "pm_monitor.nodes.rig_node", "--ros-args",
                           *params], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "invalid configuration" in proc.stderr and problem in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_fault_schedule_ends_with_one_line_and_no_traceback(tmp_path):
    """It ended in a FileNotFoundError traceback; the documented behaviour is one
    "invalid configuration" line and exit code 1 (which ends a launch: OnProcessExit)."""
    import subprocess
    import sys

    missing = tmp_path / "no_such_schedule.yaml"
    done = subprocess.run([sys.executable, "-m", "pm_monitor.nodes.rig_node", "--ros-args",
                           "-p", f"fault_schedule:={missing}"], capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.strip()]
    assert "invalid configuration" in line and "fault_schedule" in line and str(missing) in line
