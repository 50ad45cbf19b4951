"""The offline half of pm_monitor: training and evaluation (pm_monitor.training,
pm_monitor.evaluation), installed on top of the runtime distribution `pm_monitor`.

    pip install .            # the runtime: core, nodes, data sources, report, shipped models
    pip install ./offline    # + training and evaluation (needs the runtime installed)

The sources stay in the repository's one pm_monitor/ tree (the tests and the colcon build see
one package); this file only packages the two offline subpackages from there.
"""
from pathlib import Path

from setuptools import find_packages, setup

SOURCE = Path(__file__).resolve().parent.parent  # the repository root
OFFLINE = ("pm_monitor.training", "pm_monitor.evaluation")
packages = [p for p in find_packages(str(SOURCE), include=[f"{o}{s}" for o in OFFLINE
                                                             for s in ("", ".*")])]

setup(
    name="pm_monitor_offline",
    version="0.1.0",
    description="pm_monitor training and evaluation (offline; the runtime is `pm_monitor`)",
    packages=packages,
    package_dir={p: str(Path("..", *p.split("."))) for p in packages},
    python_requires=">=3.10",
    install_requires=["pm_monitor==0.1.0"],
    license="Apache-2.0",
)
