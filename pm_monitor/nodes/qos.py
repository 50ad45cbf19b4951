"""QoS profiles shared by the publishers and subscribers of one topic kind, so both ends
match (a mismatch silently drops messages). A module of its own: the recorder and the
replay node use them without importing the monitor node (and its models)."""
from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

# Sensor data: best effort as ROS drivers publish it, but deep enough that a node starved of
# CPU for seconds loses no chunk (5 s of 200 chunks/s, as the rig sends at 4x; ~30 MB full).
CHUNK_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                       reliability=qos_profile_sensor_data.reliability,
                       durability=qos_profile_sensor_data.durability)

# Alerts must never be lost: reliable, and kept for late joiners (transient local), so a
# late-joining recorder still gets the alerts already sent.
ALERT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL)
