"""Plain-Python install of pm_monitor's RUNTIME (no ROS build needed for the Python part).

    pip install .            # runtime: pm_monitor.core, nodes, the data sources (sim, datasets,
                             # replay), report, demo + shipped models, config, launch files
    pip install ./offline    # adds training and evaluation (pm_monitor.training/.evaluation)

The ROS package itself is built by colcon through CMakeLists.txt (ament_cmake: the messages
are generated there, so the ROS nodes need that build) and installs the same runtime set.
The shipped models, config, launch files and the .msg/.srv definitions (the recorder's MCAP
type store reads them) go to <prefix>/share/pm_monitor/ with an ament index marker: the
layout the nodes look them up in (ament_index_python), as in the ROS install.
"""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
OFFLINE = ["pm_monitor.training", "pm_monitor.training.*",
           "pm_monitor.evaluation", "pm_monitor.evaluation.*"]


def share_files(folder: str) -> list[tuple[str, list[str]]]:
    """(install dir, files) of every file under `folder`, keeping its layout in share/."""
    groups: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(ROOT)
            groups.setdefault(str(Path("share/pm_monitor") / relative.parent), []).append(
                str(relative))
    return list(groups.items())


setup(
    name="pm_monitor",
    version="0.1.0",
    description="Predictive-maintenance monitor runtime: core, ROS nodes, data sources, models",
    packages=find_packages(include=["pm_monitor", "pm_monitor.*"], exclude=OFFLINE),
    data_files=[("share/ament_index/resource_index/packages", ["tools/ament_marker/pm_monitor"]),
                ("share/pm_monitor", ["package.xml"]),
                *share_files("models"), *share_files("config"), *share_files("launch"),
                *share_files("msg"), *share_files("srv")],
    python_requires=">=3.10",
    # pinned versions: tools/requirements.txt (torch: pin it, plain `torch` pulls CUDA)
    install_requires=["numpy", "scipy", "pyyaml", "matplotlib", "torch", "captum", "tqdm",
                      "onnx", "onnxruntime", "pywavelets", "soundfile", "pillow", "rosbags",
                      "filterpy"],  # filterpy: the RUL damage Kalman filter (core/rul)
    license="Apache-2.0",
)
