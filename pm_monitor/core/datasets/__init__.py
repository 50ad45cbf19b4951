"""Loaders for the real public data sets in ``../shared/data`` (never downloaded at run time).

Each loader returns plain numpy arrays in physical units plus the metadata a split needs
(the recording is the unit of splitting: bearing, record, frame block).
"""
from pm_monitor.core.datasets.paths import DataNotFoundError, data_root

__all__ = ["DataNotFoundError", "data_root"]
