"""Append-only alert log on disk (JSON lines) that survives a crash and restores alarm state.

Every record is one line written with a single os.write on an O_APPEND descriptor, then
os.fsync: once append() returns, the record is on disk. Each record carries the full snapshot
of the alarm it is about and the id sequence, so replay is "last snapshot per alarm wins".
A crash mid-write leaves a torn last line: replay skips it with a warning, and the next
append starts on a fresh line, so the log stays append-only (nothing is rewritten).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

LOG_FORMAT_VERSION = 1
_logger = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    records: list[dict] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)  # 1-based line numbers
    torn_tail: bool = False


class AlertLog:
    """One JSON-lines file; append() is durable, replay() reads it back."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.records_written = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            _fsync_dir(self.path.parent)  # the new directory entry must survive a crash too
        elif self.path.stat().st_size and not _ends_with_newline(self.path):
            os.write(self._fd, b"\n")  # torn last line: start the next record on its own line
            os.fsync(self._fd)

    def append(self, record: dict) -> None:
        line = json.dumps({"v": LOG_FORMAT_VERSION, **record}, sort_keys=True,
                          separators=(",", ":"), allow_nan=False) + "\n"
        data = line.encode("utf-8")
        written = os.write(self._fd, data)
        if written != len(data):  # disk full or similar: say so, never lose it silently
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
        os.fsync(self._fd)
        self.records_written += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> AlertLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def replay(path: str | os.PathLike) -> ReplayResult:
        """Every readable record in order; bad lines are skipped with a warning."""
        result = ReplayResult()
        path = Path(path)
        if not path.exists():
            return result
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError) as err:
                if number == len(lines) and not raw.endswith(b"\n"):
                    result.torn_tail = True
                    _logger.warning("%s: torn last line %d skipped (crash during a write?)",
                                    path, number)
                else:
                    _logger.warning("%s: unreadable line %d skipped: %s", path, number, err)
                result.skipped_lines.append(number)
                continue
            result.records.append(record)
        return result


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform/file system: the file itself is synced
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
