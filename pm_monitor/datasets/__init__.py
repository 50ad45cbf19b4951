"""Loaders for the real public data sets in ``../shared/data`` (never downloaded at run time).

Each loader returns plain numpy arrays in physical units plus the metadata a split needs
(the recording is the unit of splitting: bearing, record, frame block):

- ``femto``: PRONOSTIA run-to-failure bearings (``load_bearing``), 25.6 kHz snapshots in g;
- ``cwru``: seeded bearing faults (``list_records`` / ``load_record``), 12 kHz, g;
- ``thermal_motor``: induction-motor thermal frames (``list_frames`` / ``load_palette_index``),
  relative intensity only;
- ``neu_surface``: NEU-DET steel defect images with boxes (``list_images`` / ``load_image``);
- ``machine_sound``: MIMII clips (``list_clips`` / ``load_clip``), 16 kHz, full scale.
"""
from pm_monitor.datasets.paths import DataNotFoundError, data_root

__all__ = ["DataNotFoundError", "data_root"]
