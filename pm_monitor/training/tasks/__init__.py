"""One module per real-data task (train / evaluate), named by the YAML configs in ../configs."""
