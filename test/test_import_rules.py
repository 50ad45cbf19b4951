"""The layering rules of docs/architecture.md, checked on the real import graph (grimp).

grimp reads every import statement, including the ones inside functions, so a lazy import
cannot hide a dependency. Layers (pm_monitor.<package>):
- runtime core: `core`, imports nothing else of pm_monitor and no ROS;
- data sources beside core: `sim` (simulated rig), `datasets` (public data-set readers),
  `replay` (data sets as timed streams): import core (replay also reads datasets), never
  training / evaluation / nodes;
- `report`: scoring and figures of a recorded run, imports core only;
- offline: `training`, `evaluation`: may import anything below them, never nodes / demo;
- `commission`: the operator's commissioning tool (a recording through the node's pipeline):
  core + launch_plan (where the installed model sets are);
- `nodes`: the ROS layer on top of core; only the data-source nodes import a data source, and
  the monitor node's whole import graph holds no offline or data-source module.
"""
from __future__ import annotations

import grimp
import pytest

PACKAGE = "pm_monitor"
OFFLINE = ("training", "evaluation")
DATA_SOURCES = ("sim", "datasets", "replay")
ALL_LAYERS = ("core", *DATA_SOURCES, "report", *OFFLINE, "nodes", "demo", "launch_plan",
              "commission", "launch_actions")
# what each layer may import besides itself and the generated messages (pm_monitor.msg/srv)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "sim": {"core"},
    "datasets": set(),
    "replay": {"core", "datasets"},
    "report": {"core"},
    "training": {"core", "report", *DATA_SOURCES},
    "evaluation": {"core", "report", "training", *DATA_SOURCES},
    "nodes": {"core", "report", *DATA_SOURCES},  # data sources: per node, see below
    "demo": {"core", "nodes", "launch_plan", "report", "datasets"},
    "launch_plan": set(),
    # python -m pm_monitor.commission: the node's pipeline replayed on a recording
    "commission": {"core", "launch_plan"},
    "launch_actions": {"launch_plan"},  # launch / launch_ros actions of the launch files
}
# the nodes that are data sources (or record runs) and the layers each one may import
DATA_SOURCE_NODES: dict[str, set[str]] = {
    "rig_node": {"sim"},
    "replay_node": {"replay", "datasets"},
    "recorder_node": {"report"},
}
MONITOR_NODE = f"{PACKAGE}.nodes.monitor_node"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, include_external_packages=True, cache_dir=None)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2 or parts[1] in ("msg", "srv"):
        return None  # external, the package root or the generated interfaces
    return parts[1]


def _imports_by_layer(graph: grimp.ImportGraph, layer: str) -> list[tuple[str, str]]:
    return [(module, imported) for module in graph.find_children(PACKAGE)
            if _layer(module) == layer
            for module in {module, *graph.find_descendants(module)}
            for imported in graph.find_modules_directly_imported_by(module)]


def test_every_layer_is_known(graph: grimp.ImportGraph) -> None:
    layers = {_layer(m) for m in graph.find_children(PACKAGE)} - {None}
    assert layers <= set(ALL_LAYERS), f"a new top-level package needs a rule: {layers}"


@pytest.mark.parametrize("layer", ALL_LAYERS)
def test_layer_imports_only_what_it_may(graph: grimp.ImportGraph, layer: str) -> None:
    allowed = ALLOWED[layer] | {layer}
    wrong = sorted(f"{m} -> {i}" for m, i in _imports_by_layer(graph, layer)
                   if _layer(i) is not None and _layer(i) not in allowed)
    assert not wrong, "\n".join(wrong)


def test_core_imports_no_ros(graph: grimp.ImportGraph) -> None:
    wrong = sorted(f"{m} -> {i}" for m, i in _imports_by_layer(graph, "core")
                   if i.split(".")[0] in ("rclpy", "launch", "launch_ros", "rosidl_runtime_py"))
    assert not wrong, "\n".join(wrong)


def test_only_data_source_nodes_import_data_sources(graph: grimp.ImportGraph) -> None:
    wrong = []
    for module, imported in _imports_by_layer(graph, "nodes"):
        node = module.split(".")[2] if module.count(".") >= 2 else ""
        target = _layer(imported)
        if target in (*DATA_SOURCES, "report") and target not in DATA_SOURCE_NODES.get(node, ()):
            wrong.append(f"{module} -> {imported}")
    assert not wrong, "\n".join(sorted(wrong))


def test_monitor_node_import_graph_holds_no_offline_or_data_source_module(
        graph: grimp.ImportGraph) -> None:
    reached = graph.find_upstream_modules(MONITOR_NODE)
    wrong = sorted(m for m in reached if _layer(m) in (*OFFLINE, *DATA_SOURCES, "report",
                                                         "demo"))
    assert not wrong, "\n".join(wrong)
    # the size of the runtime, for the record (docs/architecture.md quotes it)
    print(f"{MONITOR_NODE} imports {sum(_layer(m) is not None for m in reached)} "
          f"pm_monitor modules")
