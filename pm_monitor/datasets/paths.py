"""Where the real data sets live: $PM_MONITOR_DATA, else ``shared/data`` beside the checkout."""
from __future__ import annotations

import csv
import os
from pathlib import Path

ENV_VAR = "PM_MONITOR_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[2]


class DataNotFoundError(FileNotFoundError):
    """A data set (or one of its files) is not where it should be; names the path."""


def data_root() -> Path:
    """Root folder of the data sets (holds femto/, cwru/, ...).

    $PM_MONITOR_DATA wins; otherwise ``../shared/data`` next to the repository (where the
    development machines and CI place it)."""
    override = os.environ.get(ENV_VAR)
    root = Path(override) if override else _REPO_ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise DataNotFoundError(f"data root {root} not found; set ${ENV_VAR} to the folder "
                                "that holds femto/, cwru/, thermal_motor/, ...")
    return root


def dataset_dir(name: str) -> Path:
    """The folder of one data set, e.g. dataset_dir("femto")."""
    path = data_root() / name
    if not path.is_dir():
        raise DataNotFoundError(f"data set folder {path} not found")
    return path


def dataset_folder(name: str, root: Path | str | None) -> Path:
    """`root` when given (a copy elsewhere, a test fixture), else dataset_dir(name)."""
    return Path(root) if root is not None else dataset_dir(name)


def read_csv_rows(path: Path, what: str) -> list[dict[str, str]]:
    """The rows of a data set's CSV index; a missing file is a DataNotFoundError naming
    `what` and the path."""
    if not path.is_file():
        raise DataNotFoundError(f"{what} {path} not found")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))
