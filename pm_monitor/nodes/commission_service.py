"""~/commission (pm_monitor/srv/Commission): start, reset or report an asset's commissioning.

"progress" reports; "start" begins or resumes learning (windows feed the reference as they
come; nothing else to switch on); "reset" forgets the stored reference after maintenance, so
the asset learns its new normal. On an asset watched by sound alone the reference reported is
the microphone's. A refused request answers success=False with the reason; it
never raises into the executor.

The RUL path (core/rul/live.py LiveRulEstimator: rul_node's, or the monitor's RUL stage) keeps
its own onset reference and its tracker state per asset; "reset" there means a new bearing was
fitted: both are forgotten (the population prior starts again from elapsed_at_start_s).
"progress" reports that onset reference and what the stored RUL state is.
"""
from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node

from pm_monitor.core.condition.stage import PhysicsStage1
from pm_monitor.core.rul.live import LiveRulEstimator
from pm_monitor.core.stages.rul import PrognosisRul
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


def fill_rul_response(rul: LiveRulEstimator | PrognosisRul, command: str,
                      response: Commission.Response) -> Commission.Response:
    """Act on `command` for the RUL path (rul_node's estimator or the monitor's RUL stage;
    "reset": new bearing) and describe its onset reference (in seconds of operation, the
    model's reference_s) and stored state."""
    command = command.strip().lower() or "progress"
    if command not in COMMANDS:
        response.success = False
        response.message = f"unknown command {command!r} (one of {', '.join(COMMANDS)})"
        return response
    if command == "reset":
        rul.reset()
    estimator = rul.estimator if isinstance(rul, PrognosisRul) else rul
    required = float(estimator.model.onset.reference_s)
    monitor = estimator.monitor
    ref = monitor.reference if monitor is not None else (
        estimator.store.load(estimator.asset_id)
        if estimator.store is not None and estimator.asset is not None else None)
    response.success = True
    response.asset_id = estimator.asset_id
    response.complete = bool(ref is not None and ref.complete)
    response.progress = float(ref.progress) if ref is not None else 0.0
    response.collected_s = response.progress * required
    response.required_s = required
    onset = ("no onset reference (no asset description: population prior only)"
             if estimator.asset is None else "RUL onset reference "
             + ("complete" if response.complete else f"{response.progress:.0%} of {required:g} s"))
    response.message = f"{command}: {estimator.asset_id} {onset}; RUL state: " \
                       f"{estimator.state_status}"
    return response


def attach_commission_service(
        node: Node, stage_of: Callable[[], PhysicsStage1 | None],
        rul_of: Callable[[], LiveRulEstimator | PrognosisRul | None] = lambda: None):
    """Create ~/commission on `node`; `stage_of` gives the physics stage, `rul_of` the RUL
    estimator whose state and onset reference "reset" also forgets (None: not running)."""
    def handle(request: Commission.Request, response: Commission.Response):
        stage, rul = stage_of(), rul_of()
        if stage is None and rul is None:
            response.success = False
            response.message = "the physics model set is not running (no asset_file)"
            return response
        try:
            if stage is None:
                return fill_rul_response(rul, request.command, response)
            response = fill_response(stage, request.command, response)
            if rul is not None and response.success:
                rul_answer = fill_rul_response(rul, request.command, Commission.Response())
                response.message += f"; {rul_answer.message.split(': ', 1)[1]}"
            return response
        except (OSError, ValueError) as err:
            response.success = False
            response.message = f"{request.command}: {type(err).__name__}: {err}"
            return response
    return node.create_service(Commission, "~/commission", handle)
