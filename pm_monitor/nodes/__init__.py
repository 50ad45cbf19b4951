"""Thin ROS 2 layer: one node per module; all logic lives in pm_monitor.core."""
