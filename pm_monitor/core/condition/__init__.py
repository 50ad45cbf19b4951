"""Condition monitoring by physics: rate-aware features in physical units, envelope analysis with
kurtogram band selection, bearing defect lines, shaft-speed estimation, per-asset commissioning
references and health states relative to them (pure numpy/scipy; no ROS, no training)."""
