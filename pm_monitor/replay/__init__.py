"""Real-data replay: data set selections -> time-ordered, correctly stamped messages-as-data.

``datasets.build_source`` turns a selection into a source, ``schedule.replay_messages`` into
stamped messages, ``schedule.ReplayPacer`` releases them at a speed factor. No rclpy here:
``pm_monitor/nodes/replay_node.py`` only converts and publishes.
"""
from pm_monitor.replay.datasets import DATASETS, Selection, SourceOptions, build_source
from pm_monitor.replay.schedule import (
    ChunkPayload,
    ImagePayload,
    ReplayConfig,
    ReplayMessage,
    ReplayPacer,
    replay_messages,
)

__all__ = ["DATASETS", "ChunkPayload", "ImagePayload", "ReplayConfig", "ReplayMessage",
           "ReplayPacer", "Selection", "SourceOptions", "build_source", "replay_messages"]
