"""One way to replace a small state file on disk so that a crash never leaves half of it:
write a temporary file in the same folder, fsync it, then os.replace (atomic on POSIX), so
a reader sees the old file or the new one. Used by the commissioning references
(core/condition/reference.py) and the RUL tracker state (core/rul/state.py)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Replace `path` with `text` (its folder is created if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers see the old file or the new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
