"""Pure core of pm_monitor. Nothing below this package may import rclpy."""
