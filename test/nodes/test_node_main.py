"""The shared main(): a second Ctrl-C while a node is being destroyed gives no traceback."""
from __future__ import annotations

import os
import signal

import rclpy

from pm_monitor.nodes.node_main import release


class _SlowToClose:
    """A node whose destroy_node is interrupted by the user pressing Ctrl-C again."""

    def __init__(self) -> None:
        self.destroyed = False

    def destroy_node(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        self.destroyed = True


def test_a_second_sigint_during_cleanup_is_ignored():
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # what Python starts with
    try:
        node = _SlowToClose()
        release(node)  # raised KeyboardInterrupt from destroy_node before
        assert node.destroyed
        assert not rclpy.ok()
    finally:
        signal.signal(signal.SIGINT, previous)
