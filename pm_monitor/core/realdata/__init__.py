"""The real-data profile: the models trained and measured on real public data (FEMTO Stage 1
and anomaly score, thermal_motor, NEU camera, MIMII fan), run live by the monitor instead of
the rig-trained bundle. Entry point: ``build_real_cascade`` (realdata/factory.py)."""
