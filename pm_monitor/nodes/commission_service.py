"""~/commission (pm_monitor/srv/Commission): start, reset or report an asset's commissioning.

"progress" reports; "start" begins or resumes learning (windows feed the reference as they
come; nothing else to switch on); "reset" forgets the stored reference after maintenance, so
the asset learns its new normal. On an asset watched by sound alone the reference reported is
the microphone's. A refused request answers success=False with the reason; it
never raises into the executor.
"""
from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node

from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.srv import Commission

COMMANDS = ("progress", "start", "reset")


def fill_response(stage: PhysicsStage1, command: str, response: Commission.Response
                  ) -> Commission.Response:
    """Act on `command` and describe the commissioning state in `response`."""
    command = command.strip().lower() or "progress"
    if command not in COMMANDS:
        response.success = False
        response.message = f"unknown command {command!r} (one of {', '.join(COMMANDS)})"
    else:
        if command == "reset":
            stage.reset_commissioning()
        response.success = True
    ref = stage.reference()
    response.asset_id = stage.asset.asset_id
    response.complete = bool(ref is not None and ref.complete)
    response.progress = float(stage.progress)
    response.collected_s = float(ref.collected_s) if ref is not None else 0.0
    response.required_s = float(stage.asset.commissioning_s)
    if response.success:
        response.message = (f"{command}: {stage.asset.asset_id} commissioning "
                            + ("complete" if response.complete else
                               f"{response.progress:.0%} of {response.required_s:g} s"))
        if stage.asset.microphone and stage.asset.accelerometer:  # learns beside it
            mic = stage.acoustic_reference()
            response.message += (f"; microphone {mic.progress:.0%}" if mic is not None
                                 else "; microphone: no data yet")
    return response


def attach_commission_service(node: Node, stage_of: Callable[[], PhysicsStage1 | None]):
    """Create ~/commission on `node`; `stage_of` gives the physics stage (None: not running)."""
    def handle(request: Commission.Request, response: Commission.Response):
        stage = stage_of()
        if stage is None:
            response.success = False
            response.message = "the physics model set is not running (no asset_file)"
            return response
        try:
            return fill_response(stage, request.command, response)
        except (OSError, ValueError) as err:
            response.success = False
            response.message = f"{request.command}: {type(err).__name__}: {err}"
            return response
    return node.create_service(Commission, "~/commission", handle)
