"""Recording runs to MCAP (rosbag2 layout) and reading them back, without rclpy (rosbags)."""
