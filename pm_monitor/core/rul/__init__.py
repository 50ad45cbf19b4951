"""Remaining useful life: pure core, no rclpy.

Default model (prognosis): indicators (physical health indicators of a snapshot) -> onset
(degradation onset against the asset's own reference) -> prognosis (population prior from
prior, condition-based RUL after onset, calibrated distribution) -> distribution (median /
PHM-optimal point, interval); live turns a sample stream into estimates.

Paper 002 (optional member, offline comparison and retraining): raster and cwt_features turn
one snapshot into network inputs, snapshot bundles both, network is the model, ensemble wraps
members and calibration, targets holds its labels and onset rule.
"""
