"""RViz outputs of the monitor: the heatmap images and the asset's state marker.

* HeatmapPublisher: `~/heatmap` (rgb8: the localisation map blended over the grey thermal or
  camera frame, region boxed, hotspot crossed, colour bar; enlarged for viewing) and
  `~/heatmap_raw` (32FC1: the raw [0, 1] map at the frame's own size, for downstream code);
  a second one on `~/camera_heatmap` when the models localise on the camera as well.
  Each is rendered and published only while someone subscribes to it.
* asset_markers / MarkerPublisher: a visualization_msgs/MarkerArray in the asset's TF frame:
  a sphere coloured by health state and a text "asset: STATE / fault / RUL", so a robot's RViz
  shows the machine's state in the scene.

Publishers come from `create_publisher` (pass the lifecycle node's create_lifecycle_publisher
to have them switched with the node's activation).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from pm_monitor.core.imaging.heatmap import render
from pm_monitor.core.types import HealthState
from pm_monitor.nodes import conversions as conv

HEATMAP_DEPTH = 5
MARKER_DEPTH = 5
VIEW_ROWS = 360  # heatmap images are enlarged to about this many rows for viewing
# Traffic-light colours an operator reads without a legend (RGBA, 0..1).
STATE_COLOURS: dict[HealthState, tuple[float, float, float, float]] = {
    HealthState.NORMAL: (0.1, 0.8, 0.2, 0.9),
    HealthState.PRE_WARNING: (1.0, 0.85, 0.0, 0.9),
    HealthState.WARNING: (1.0, 0.5, 0.0, 0.9),
    HealthState.FAILURE: (0.9, 0.0, 0.0, 0.9),
}
PublisherFactory = Callable[..., object]


class HeatmapPublisher:
    def __init__(self, node: Node, create_publisher: PublisherFactory | None = None,
                 alpha: float = 0.6, scale: int | None = None,
                 topic: str = "~/heatmap") -> None:
        """scale: enlargement of the rgb8 image; None = small frames (a 160 x 120 thermal)
        to about 360 rows, large ones (a camera) left as they are. topic: the rgb8 topic;
        the raw map goes to `<topic>_raw`."""
        make = create_publisher or node.create_publisher
        self.rgb = make(Image, topic, HEATMAP_DEPTH)
        self.raw = make(Image, f"{topic}_raw", HEATMAP_DEPTH)
        self.alpha, self.scale = alpha, scale
        self.published = {"rgb8": 0, "32FC1": 0}

    def wanted(self) -> bool:
        """Someone subscribes to either topic (check before doing any work for them)."""
        return self.rgb.get_subscription_count() > 0 or self.raw.get_subscription_count() > 0

    def publish(self, frame: np.ndarray, heatmap: np.ndarray, stamp_ns: int, frame_id: str,
                hotspot_xy: tuple[int, int] | None = None,
                region: tuple[int, int, int, int] | None = None) -> tuple[bool, bool]:
        """frame: (H, W) deg C thermal or (H, W, 3) rgb8 camera; heatmap (H, W) in [0, 1].
        Returns (rgb8 published, 32FC1 published)."""
        rgb_sent = raw_sent = False
        if self.raw.get_subscription_count() > 0:
            raw = np.clip(np.asarray(heatmap, np.float32), 0.0, 1.0)
            self.raw.publish(conv.numpy_to_image(raw, "32FC1", stamp_ns, frame_id))
            self.published["32FC1"] += 1
            raw_sent = True
        if self.rgb.get_subscription_count() > 0:
            scale = self.scale or max(1, VIEW_ROWS // max(1, frame.shape[0]))
            image = render(frame, heatmap, self.alpha, hotspot_xy, region, scale)
            self.rgb.publish(conv.numpy_to_image(image, "rgb8", stamp_ns, frame_id))
            self.published["rgb8"] += 1
            rgb_sent = True
        return rgb_sent, raw_sent

    def publish_localization(self, localization, frame) -> tuple[bool, bool]:
        """localization: cascade Localization; frame: the window's FrameSample it came from."""
        return self.publish(frame.image, localization.heatmap, frame.stamp_ns,
                            localization.frame_id, localization.hotspot_xy, localization.region)


def state_colour(state: HealthState | int) -> ColorRGBA:
    r, g, b, a = STATE_COLOURS[HealthState(int(state))]
    return ColorRGBA(r=r, g=g, b=b, a=a)


def marker_text(asset_id: str, state: HealthState | int, fault_type: str,
                rul: tuple[float, float, float] | None) -> str:
    lines = [f"{asset_id}: {HealthState(int(state)).name}"]
    if fault_type and fault_type != "none":
        lines.append(f"{fault_type.replace('_', ' ')} fault")
    if rul is not None:
        rul_s, lower_s, upper_s = rul
        lines.append(f"RUL {rul_s:.0f} s [{lower_s:.0f}, {upper_s:.0f}]")
    return "\n".join(lines)


def asset_markers(asset_id: str, frame_id: str, stamp_ns: int, state: HealthState | int,
                  fault_type: str = "none", rul: tuple[float, float, float] | None = None,
                  size_m: float = 0.25, text_height_m: float = 0.08) -> MarkerArray:
    """Sphere (state colour) at the origin of the asset's frame, text above it."""
    header = conv.make_header(stamp_ns, frame_id)
    namespace = f"pm_monitor/{asset_id}"
    sphere = Marker(header=header, ns=namespace, id=0, type=Marker.SPHERE, action=Marker.ADD)
    sphere.pose.orientation.w = 1.0
    sphere.scale.x = sphere.scale.y = sphere.scale.z = float(size_m)
    sphere.color = state_colour(state)
    text = Marker(header=header, ns=namespace, id=1, type=Marker.TEXT_VIEW_FACING,
                  action=Marker.ADD)
    text.pose.position.z = float(size_m) * 0.5 + 2.5 * float(text_height_m)
    text.pose.orientation.w = 1.0
    text.scale.z = float(text_height_m)  # TEXT markers use only scale.z (line height)
    text.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
    text.text = marker_text(asset_id, state, fault_type, rul)
    return MarkerArray(markers=[sphere, text])


class MarkerPublisher:
    """`~/markers` (MarkerArray), sent only while subscribed."""

    def __init__(self, node: Node, asset_id: str, frame_id: str,
                 create_publisher: PublisherFactory | None = None) -> None:
        make = create_publisher or node.create_publisher
        self.publisher = make(MarkerArray, "~/markers", MARKER_DEPTH)
        self.asset_id, self.frame_id = asset_id, frame_id

    def publish_result(self, result, state: HealthState | int | None = None) -> bool:
        """result: CascadeResult; state: the alarm's state if one is active (it may be higher
        than this window's), else the window's."""
        if self.publisher.get_subscription_count() == 0:
            return False
        rul = None if result.rul is None or not result.rul.valid else (
            float(result.rul.rul_s), float(result.rul.lower_s), float(result.rul.upper_s))
        self.publisher.publish(asset_markers(
            self.asset_id, self.frame_id, result.t_end_ns,
            result.state if state is None else state, result.fault_type, rul))
        return True
