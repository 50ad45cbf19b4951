"""Synchronisation for any rclpy node (imports rclpy; the pure matcher is in core/sync).

``ApproximateTimeSynchronizer``: a drop-in for message_filters' Python class of that name
(same constructor, ``registerCallback``, ``connectInput``), backed by the tight
ApproximateTime policy of ``pm_monitor.core.sync.approximate_time``; ``Subscriber`` is
message_filters' when it is installed, else a thin one of ours.
"""
from pm_monitor.sync.approximate_time_synchronizer import (
    ApproximateTimeSynchronizer,
    Subscriber,
    SyncDrop,
)

__all__ = ["ApproximateTimeSynchronizer", "Subscriber", "SyncDrop"]
