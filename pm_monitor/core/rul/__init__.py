"""Remaining useful life: pure core, no rclpy.

Default model (prognosis): the any-machine vibration features (core/condition/features.py)
named per axis (onset: damage score against the asset's own reference) -> onset = the
any-machine health state machine's first confirmed not-Normal state (core/condition/monitor.py
AssetMonitor; onset.py only latches it) -> prognosis (population prior from prior,
condition-based RUL after onset, calibrated distribution) -> distribution (median /
PHM-optimal point, interval); live turns a sample stream into estimates, for rul_node (chunks)
and for the monitor's cascade (core/stages/rul.py: analysis windows), the one RUL of both.

Paper 002's network is offline only: pm_monitor/training/rul_network (optional member of the
comparison in pm_monitor.evaluation.rul_evaluate).
"""
