"""The `main()` every pm_monitor executable shares (ros2/demos style): init, create the node,
spin, end cleanly on Ctrl-C or external shutdown, and turn a configuration error into one
fatal log line and exit code 1 instead of a traceback."""
from __future__ import annotations

import signal
import time
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from pm_monitor.nodes.ros_logging import bridge_python_logging

LINGER_S = 1.0  # after a finite node finishes: time for its last messages to be delivered


def run_node(make_node: Callable[[], Node], logger_name: str,
             fatal_errors: tuple[type[BaseException], ...] = (ValueError,),
             fatal_prefix: str = "invalid configuration", args: list[str] | None = None,
             until_finished: bool = False) -> None:
    """until_finished: spin until `node.finished` (a simulator or a replay that ends), then
    linger LINGER_S; otherwise spin until shutdown."""
    rclpy.init(args=args)
    bridge_python_logging(rclpy.logging.get_logger(logger_name))
    node = None
    try:
        node = make_node()
        if until_finished:
            while rclpy.ok() and not node.finished:
                rclpy.spin_once(node, timeout_sec=0.1)
            end = time.monotonic() + LINGER_S
            while rclpy.ok() and time.monotonic() < end:
                rclpy.spin_once(node, timeout_sec=0.1)
        else:
            rclpy.spin(node)
    except fatal_errors as err:
        rclpy.logging.get_logger(logger_name).fatal(f"{fatal_prefix}: {err}")
        raise SystemExit(1) from None
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        release(node)


def release(node: Node | None) -> None:
    """Destroy the node and shut rclpy down, deaf to further Ctrl-C: a second SIGINT while
    the node closes its files would otherwise end in a KeyboardInterrupt traceback (and may
    leave the alert log half closed); launch escalates to SIGTERM / SIGKILL if it hangs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if node is not None:
        node.destroy_node()
    rclpy.try_shutdown()
