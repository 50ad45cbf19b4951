"""The demo: simulated rig + monitor as separate ROS processes, recorded and summarised."""
