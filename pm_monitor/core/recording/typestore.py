"""The message definitions a recording needs: ROS 2 Jazzy's standard ones (from rosbags) plus
pm_monitor's own, parsed from the package's msg/ files (source tree or installed share)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "pm_monitor"


def msg_dir() -> Path:
    """pm_monitor's msg/ folder: next to this source tree, else in an installed share."""
    source = Path(__file__).resolve().parents[3] / "msg"
    if source.is_dir():
        return source
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        installed = Path(prefix) / "share" / PACKAGE / "msg"
        if prefix and installed.is_dir():
            return installed
    raise FileNotFoundError("pm_monitor's msg/ definitions were not found next to the sources "
                            "nor under AMENT_PREFIX_PATH")


@lru_cache(maxsize=4)
def typestore(directory: Path | None = None) -> Typestore:
    """Jazzy's standard types + every pm_monitor/msg/<Name>.msg of `directory` (default
    msg_dir()). Cached: building a typestore parses all definitions."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types = {}
    for path in sorted((directory or msg_dir()).glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store
