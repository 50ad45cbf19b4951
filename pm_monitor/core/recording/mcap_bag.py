"""Write and read runs as MCAP in the rosbag2 layout (a folder with metadata.yaml and one .mcap
file): `ros2 bag info/play` read it, Foxglove opens the .mcap directly.

Messages go in as CDR bytes (what rclpy.serialization.serialize_message returns, or rosbags'
own serialisation) under their ROS type name ("pm_monitor/msg/Alert"); the definitions stored
in the file come from core.recording.typestore, so readers need no pm_monitor install.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import StoragePlugin

from pm_monitor.core.recording.typestore import typestore

BAG_VERSION = 9  # rosbag2 metadata version of Jazzy


class RecordingError(RuntimeError):
    """A recording cannot be written or read; says which path and why."""


@dataclass(frozen=True)
class RecordedMessage:
    topic: str
    msgtype: str  # e.g. "pm_monitor/msg/Alert"
    log_time_ns: int
    cdr: bytes

    def decode(self):
        """The message as a rosbags dataclass (same field names as the ROS message)."""
        return typestore().deserialize_cdr(self.cdr, self.msgtype)


class McapRecorder:
    """with McapRecorder(folder) as bag: bag.write(topic, msgtype, t_ns, cdr)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        if self.folder.exists():
            raise RecordingError(f"{self.folder} exists already: a recording never overwrites")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self._store = typestore()
        self._writer = Writer(self.folder, version=BAG_VERSION,
                              storage_plugin=StoragePlugin.MCAP)
        # no rosbag2-level compression: Foxglove and other MCAP readers would not undo it
        self._writer.open()
        self._connections: dict[str, object] = {}
        self._types: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.closed = False

    def write(self, topic: str, msgtype: str, log_time_ns: int, cdr: bytes) -> None:
        if self.closed:
            raise RecordingError(f"{self.folder}: write after close ({topic})")
        connection = self._connections.get(topic)
        if connection is None:
            if msgtype not in self._store.fielddefs:
                raise RecordingError(f"unknown message type {msgtype!r} for {topic}")
            connection = self._writer.add_connection(topic, msgtype, typestore=self._store)
            self._connections[topic], self._types[topic] = connection, msgtype
        elif self._types[topic] != msgtype:
            raise RecordingError(f"{topic} carries {self._types[topic]}, not {msgtype}")
        self._writer.write(connection, int(log_time_ns), bytes(cdr))
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def write_message(self, topic: str, message, log_time_ns: int) -> None:
        """A rosbags dataclass message (tests, tools without rclpy)."""
        msgtype = message.__msgtype__
        self.write(topic, msgtype, log_time_ns, self._store.serialize_cdr(message, msgtype))

    @property
    def mcap_path(self) -> Path:
        """The .mcap file inside the folder (Foxglove opens it directly)."""
        return next(self.folder.glob("*.mcap"))

    def close(self) -> None:
        if not self.closed:
            self._writer.close()
            self.closed = True

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resolve_recording(path: Path | str) -> Path:
    """A rosbag2 folder, a bare .mcap file, or a folder holding one `recording/` bag."""
    path = Path(path)
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        nested = path / "recording"
        if (nested / "metadata.yaml").is_file():
            return nested
    if path.is_dir() and (path / "metadata.yaml").is_file():
        return path
    if path.is_file() and path.suffix == ".mcap":
        return path
    raise RecordingError(f"{path} is not a recording (a rosbag2 folder with metadata.yaml, "
                         f"or a .mcap file)")


def read_messages(path: Path | str, topics: Iterable[str] | None = None
                  ) -> Iterator[RecordedMessage]:
    """Every message of the recording in log-time order (optionally only some topics)."""
    wanted = set(topics) if topics is not None else None
    try:
        with Reader(resolve_recording(path)) as reader:
            connections = [c for c in reader.connections
                           if wanted is None or c.topic in wanted]
            if not connections:
                return  # rosbags reads every connection when given none
            for connection, log_time, raw in reader.messages(connections=connections):
                yield RecordedMessage(connection.topic, connection.msgtype, int(log_time),
                                      bytes(raw))
    except RecordingError:
        raise
    except Exception as err:  # rosbags raises several types for damaged files
        raise RecordingError(f"cannot read recording {path}: {type(err).__name__}: {err}"
                             ) from err
