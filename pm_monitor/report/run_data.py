"""What a report shows, loaded from an MCAP recording or from the demo's JSON-lines files.

Messages are recognised by type, not topic, so any namespace or remapping works. Times are
seconds since the run's start: the rig's simulated t = 0 when its ground truth was recorded,
else the first message's stamp.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pm_monitor.core.imaging.codec import RawImage, decode
from pm_monitor.core.recording.mcap_bag import RecordingError, read_messages, resolve_recording

STATE_NAMES = ("Normal", "Pre-Warning", "Warning", "Failure")
EVENT_NAMES = ("raised", "updated", "escalated", "cleared", "acknowledged", "shelved",
               "unshelved", "removed from service", "returned to service")
NS = 1_000_000_000


@dataclass(frozen=True)
class HealthPoint:
    t_s: float
    state: int
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool


@dataclass(frozen=True)
class RulPoint:
    t_s: float
    rul_s: float
    lower_s: float
    upper_s: float


@dataclass(frozen=True)
class AlertRow:
    t_s: float
    alert_id: str
    event: str
    state: int
    fault_type: str
    location: str
    rul_s: float | None
    anomaly_score: float
    anomaly_threshold: float
    summary: str


@dataclass(frozen=True)
class ExplanationRow:
    t_s: float
    alert_id: str
    sensor_importance: dict[str, float]
    modality_weights: dict[str, float]
    computation_s: float
    summary: str
    # fusion gate ([P1]) only; older recordings and IG-share explanations leave them empty
    modality_weights_method: str = ""
    modality_ideal_weights: dict[str, float] = field(default_factory=dict)
    modality_bias: dict[str, float] = field(default_factory=dict)
    modality_bias_decisions: int = 0


@dataclass(frozen=True)
class TruthPoint:
    t_s: float
    state: int
    rul_s: float | None


@dataclass
class RunData:
    source: str
    kind: str  # "mcap" or "jsonl"
    health: list[HealthPoint] = field(default_factory=list)
    rul: list[RulPoint] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    explanations: list[ExplanationRow] = field(default_factory=list)
    heatmaps: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (t_s, rgb)
    truth: list[TruthPoint] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        times = [p.t_s for p in self.health] + [a.t_s for a in self.alerts]
        return max(times) - min(times) if times else 0.0


def load_run(path: Path | str) -> RunData:
    """A recording (rosbag2 folder or .mcap) or a demo output dir (its recording/ if present,
    else alerts.jsonl, explanations.jsonl and heatmaps/*.png)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return load_recording(resolve_recording(path))
    except RecordingError:
        if path.is_dir() and (path / "alerts.jsonl").is_file():
            return load_demo_dir(path)
        raise


# --- MCAP ------------------------------------------------------------------------------------

def _stamp_ns(header) -> int:
    return int(header.stamp.sec) * NS + int(header.stamp.nanosec)


def load_recording(path: Path) -> RunData:
    decoded = [(m.msgtype, m.decode()) for m in read_messages(path)]
    if not decoded:
        raise RecordingError(f"{path}: the recording holds no messages")
    epoch = _epoch_ns(decoded)
    run = RunData(str(path), "mcap")

    def t(msg) -> float:
        return (_stamp_ns(msg.header) - epoch) / NS

    for msgtype, msg in decoded:
        name = msgtype.rsplit("/", 1)[-1]
        if name == "HealthStatus":
            run.health.append(HealthPoint(t(msg), int(msg.state), float(msg.anomaly_score),
                                          float(msg.anomaly_threshold), bool(msg.anomalous)))
        elif name == "RulEstimate" and msg.valid:
            run.rul.append(RulPoint(t(msg), float(msg.rul_s), float(msg.rul_lower_s),
                                    float(msg.rul_upper_s)))
        elif name == "Alert":
            run.alerts.append(_alert_row(t(msg), msg))
        elif name == "Explanation":
            run.explanations.append(_explanation_row(t(msg), msg))
        elif name == "Image" and msg.encoding == "rgb8":
            raw = RawImage(msg.encoding, int(msg.height), int(msg.width), int(msg.step),
                           bool(msg.is_bigendian), bytes(msg.data))
            run.heatmaps.append((t(msg), decode(raw)))
        elif name == "RigGroundTruth":
            run.truth.append(TruthPoint(t(msg), int(msg.state),
                                        float(msg.rul_s) if msg.rul_known else None))
    for rows in (run.health, run.rul, run.alerts, run.explanations, run.truth):
        rows.sort(key=lambda row: row.t_s)
    run.heatmaps.sort(key=lambda item: item[0])
    return run


def _epoch_ns(decoded) -> int:
    for msgtype, msg in decoded:
        if msgtype.endswith("/RigGroundTruth"):
            return _stamp_ns(msg.header) - round(float(msg.sim_time_s) * NS)
    stamps = [_stamp_ns(msg.header) for _, msg in decoded if hasattr(msg, "header")]
    return min(stamps) if stamps else 0


def _alert_row(t_s: float, msg) -> AlertRow:
    event = int(msg.event)
    return AlertRow(
        t_s, msg.alert_id, EVENT_NAMES[event] if event < len(EVENT_NAMES) else str(event),
        int(msg.state), msg.fault_type, msg.location if msg.localized else "",
        float(msg.rul_s) if msg.rul_known else None, float(msg.anomaly_score),
        float(msg.anomaly_threshold), msg.summary)


def _explanation_row(t_s: float, msg) -> ExplanationRow:
    """An Explanation (decoded message or its JSON dict); fields added later may be absent."""
    names = list(msg.modality_names)

    def per_modality(name: str) -> dict[str, float]:
        values = getattr(msg, name, None)  # a numpy array when decoded from a recording
        values = [] if values is None else list(values)
        return dict(zip(names, map(float, values), strict=True)) if len(values) == len(
            names) else {}

    return ExplanationRow(
        t_s, msg.alert_id,
        dict(zip(msg.sensor_names, map(float, msg.sensor_importance), strict=False)),
        per_modality("modality_weights"), float(msg.computation_time_s), msg.summary,
        str(getattr(msg, "modality_weights_method", "")), per_modality("modality_ideal_weights"),
        per_modality("modality_bias"), int(getattr(msg, "modality_bias_decisions", 0)))


# --- demo output folder (JSON lines) ---------------------------------------------------------

def load_demo_dir(path: Path) -> RunData:
    """The demo's JSON-lines files: alerts carry the score, threshold and RUL at alert times
    only, so the timeline is sparser than from a recording."""
    alerts = [_Dict(d) for d in _json_lines(path / "alerts.jsonl")]
    explanations = [_Dict(d) for d in _json_lines(path / "explanations.jsonl")]
    stamps = [_stamp_ns(m.header) for m in alerts + explanations]
    epoch = min(stamps) if stamps else 0
    run = RunData(str(path), "jsonl")
    for msg in alerts:
        t_s = (_stamp_ns(msg.header) - epoch) / NS
        row = _alert_row(t_s, msg)
        run.alerts.append(row)
        run.health.append(HealthPoint(t_s, row.state, row.anomaly_score,
                                      row.anomaly_threshold, bool(msg.anomalous)))
        if msg.rul_known:
            run.rul.append(RulPoint(t_s, float(msg.rul_s), float(msg.rul_lower_s),
                                    float(msg.rul_upper_s)))
    for msg in explanations:
        run.explanations.append(_explanation_row((_stamp_ns(msg.header) - epoch) / NS, msg))
    for png in sorted((path / "heatmaps").glob("*.png")):
        import matplotlib.image as mpimg

        rgb = (mpimg.imread(png)[..., :3] * 255).astype(np.uint8)
        run.heatmaps.append((_time_from_name(png.stem), rgb))
    return run


def _json_lines(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not JSON: {err}") from err
    return rows


def _time_from_name(stem: str) -> float:
    """heatmap_003_t0063.5s -> 63.5 (the recorder's naming); NaN if absent."""
    for part in stem.split("_"):
        if part.startswith("t") and part.endswith("s"):
            try:
                return float(part[1:-1])
            except ValueError:
                pass
    return float("nan")


class _Dict:
    """Attribute access to message_to_dict output, so one row builder serves both sources."""

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getattr__(self, name: str):
        try:
            value = self._data[name]
        except KeyError as err:
            raise AttributeError(name) from err
        return _Dict(value) if isinstance(value, dict) else value
