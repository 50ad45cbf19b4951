"""Remaining useful life of bearings (paper 002 on FEMTO / PRONOSTIA): pure core, no rclpy.

raster (Bresenham images) and cwt_features (Morlet CWT) turn one snapshot into model inputs;
snapshot bundles both; network is the paper-002 model; ensemble wraps members, calibration
and the saved file; targets, scoring and split serve the evaluation; baseline is the
exponential-degradation reference; live turns a sample stream into estimates.
"""
