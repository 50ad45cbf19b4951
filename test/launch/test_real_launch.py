"""The launch files under the real `ros2 launch` (a ROS install, or the wheels of
../shared/tools/ros2-launch): skipped cleanly where the launch tooling is not installed.

The same behaviour is checked without `launch` in test/test_launch_plan.py."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

pytest.importorskip("launch_testing", reason="ROS 2 launch tooling not installed")
pytest.importorskip("launch_ros", reason="ROS 2 launch tooling not installed")
if shutil.which("ros2") is None:
    pytest.skip("no ros2 executable on PATH", allow_module_level=True)
pytest.importorskip("pm_monitor.msg", reason="messages not built: run tools/setup_env.sh")


def _launch(*args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(["ros2", "launch", "pm_monitor", *args], capture_output=True,
                          text=True, timeout=timeout_s, cwd="/tmp")


def _started(output: str) -> list[str]:
    return [line for line in output.splitlines() if "process started with pid" in line]


def test_show_args_describes_every_argument_with_its_allowed_values():
    for name in ("monitor.launch.py", "test_rig.launch.py", "inspection_robot.launch.py",
                 "femto_rul.launch.py", "real_data.launch.py"):
        shown = _launch(name, "--show-args").stdout
        assert "no description given" not in shown, name
        assert "Allowed:" in shown or "Valid choices" in shown, name
    assert "'rul_in'" in _launch("monitor.launch.py", "--show-args").stdout


@pytest.mark.parametrize("args, named", [
    (("test_rig.launch.py", "speed_factor:=fast"), "speed_factor"),
    (("monitor.launch.py", "autostart:=maybe"), "autostart"),
    (("monitor.launch.py", "params_file:=/no/such/monitor.yaml"), "params_file"),
    (("test_rig.launch.py", "rviz:=true"), "rviz"),  # no rviz2 here (skipped where it is)
])
def test_a_bad_argument_is_named_and_nothing_starts(args, named):
    if named == "rviz" and shutil.which("rviz2"):
        pytest.skip("rviz2 is installed here")
    done = _launch(*args)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert named in output
    assert _started(output) == [], output  # no orphans: nothing was started at all


def test_rig_ending_in_error_takes_the_monitor_with_it(tmp_path):
    """A rig that dies (here: a schedule that is not valid YAML content) shuts the whole
    launch down instead of leaving the monitor running on no data."""
    bad = tmp_path / "bad_schedule.yaml"
    bad.write_text("faults: [{type: no_such_fault, start_s: 1}]\n")
    begin = time.monotonic()
    done = _launch("test_rig.launch.py", f"fault_schedule:={bad}", timeout_s=150.0)
    output = done.stdout + done.stderr
    assert len(_started(output)) == 2, output
    assert "rig_node-1]: process has died" in output and "exit code 1" in output
    assert "monitor_node-2]: process has finished cleanly" in output or \
        "monitor_node-2]: process has died" in output, output
    assert time.monotonic() - begin < 150.0


def test_monitor_alone_stops_cleanly_on_sigint_with_scoped_log_level():
    process = subprocess.Popen(
        ["ros2", "launch", "pm_monitor", "monitor.launch.py", "log_level:=debug"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/tmp",
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    end = time.monotonic() + 120.0
    try:
        for line in process.stdout:
            lines.append(line)
            if "active: subscribed" in line or time.monotonic() > end:
                break
        os.kill(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert "active: subscribed" in output
    assert "Traceback" not in output
    assert "[rcl]" not in output  # debug for our loggers only, not rcl's
    assert "process has finished cleanly" in output


def test_lifecycle_shutdown_logs_releases_and_ends_the_process(tmp_path):
    """`ros2 lifecycle set /pm_monitor shutdown` used to log nothing and leave the process
    lingering; now it says what it released and the process exits 0."""
    ns = f"shutdown_test_{os.getpid()}"
    process = subprocess.Popen(
        ["ros2", "launch", "pm_monitor", "monitor.launch.py", f"namespace:={ns}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/tmp",
        start_new_session=True)
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "active: subscribed" in line:
                break
        done = subprocess.run(["ros2", "lifecycle", "set", f"/{ns}/pm_monitor", "shutdown"],
                              capture_output=True, text=True, timeout=90)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = "".join(lines) + rest
    assert "Transitioning successful" in done.stdout, done.stdout + done.stderr
    assert "shut down from active" in output and "released" in output
    assert "process has finished cleanly" in output  # it exited by itself, code 0
    assert "Traceback" not in output
