"""Time synchronisation of the monitor's inputs (pure core: no rclpy).

* ``approximate_time``: ApproximateTimeMatcher, port of the message_filters ApproximateTime
  policy (sets of one message per input with approximately equal stamps).
* ``stream_buffer``: StreamRingBuffer, one continuous stream placed by sample index.
* ``image_sets``: ImageSetMatcher, frames of the image inputs grouped into sets (the matcher).
* ``clock_offsets``: per-input clock models estimated from energy envelopes.
* ``drops``: DropMonitor, what was dropped and why, inputs with everything dropped.
* ``window_assembler``: WindowAssembler, turns chunks and frames into AnalysisWindows.
* ``events``: SyncEvent, what the above report instead of logging.
"""
from pm_monitor.core.sync.approximate_time import ApproximateTimeMatcher, MatchedSet, MatcherStats
from pm_monitor.core.sync.clock_offsets import ClockConfig, ClockEstimate, ClockOffsets
from pm_monitor.core.sync.drops import DropMonitor, DropRecord
from pm_monitor.core.sync.events import SyncEvent, SyncEventKind
from pm_monitor.core.sync.image_sets import FrameSet, ImageSetMatcher
from pm_monitor.core.sync.stream_buffer import StreamBufferStats, StreamRingBuffer
from pm_monitor.core.sync.window import AnalysisWindow, FrameSample, StreamWindow
from pm_monitor.core.sync.window_assembler import (
    AssemblerStats,
    ImageSpec,
    StreamSpec,
    WindowAssembler,
    WindowAssemblerConfig,
)

__all__ = [
    "AnalysisWindow",
    "ApproximateTimeMatcher",
    "AssemblerStats",
    "ClockConfig",
    "ClockEstimate",
    "ClockOffsets",
    "DropMonitor",
    "DropRecord",
    "FrameSample",
    "FrameSet",
    "ImageSetMatcher",
    "ImageSpec",
    "MatchedSet",
    "MatcherStats",
    "StreamBufferStats",
    "StreamRingBuffer",
    "StreamSpec",
    "StreamWindow",
    "SyncEvent",
    "SyncEventKind",
    "WindowAssembler",
    "WindowAssemblerConfig",
]
