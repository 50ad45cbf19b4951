"""Image codec (sensor_msgs/Image fields <-> numpy) and heatmap rendering. No ROS imports."""
