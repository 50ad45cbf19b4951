"""Plain-Python install of pm_monitor's pure core (no messages, no ROS).

The ROS package itself is built by colcon through CMakeLists.txt (ament_cmake: the messages
are generated there). This file lets ML users install the core into any environment:
`pip install -e .` gives pm_monitor.core, training and evaluation without a ROS workspace.
"""
from setuptools import find_packages, setup

setup(
    name="pm_monitor",
    version="0.1.0",
    description="Predictive-maintenance monitor core: features, sync, models, simulation",
    packages=find_packages(include=["pm_monitor", "pm_monitor.*"]),
    python_requires=">=3.10",
    # pinned versions: tools/requirements.txt (torch: pin it, plain `torch` pulls CUDA)
    install_requires=["numpy", "scipy", "pyyaml", "matplotlib", "torch", "captum", "tqdm",
                      "onnx", "onnxruntime", "pywavelets", "soundfile", "pillow", "rosbags"],
    license="Apache-2.0",
)
