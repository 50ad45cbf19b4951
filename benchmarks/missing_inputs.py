"""Missing, lost and starved inputs on the simulated rig: false alarms and detection delay.

    python -m benchmarks.missing_inputs [--seconds 60] [--starved-seconds 60] [--out DIR]

Every run streams the simulated rig (chunks and frames as the rig node publishes them) through
the monitor's own data path (synchroniser, cascade, alarm manager: pm_monitor.core.pipeline)
with the shipped rig models, on a healthy schedule and on a faulty one (outer race at the
drive-end bearing, onset ONSET_S), and counts:

* false alarms: alarms raised on the healthy run, or before the onset on the faulty one
  (must be 0 everywhere);
* detection delay: first alarm raised after the onset (s of rig time), "-" when none;
* windows decided: windows Stage 1 voted on (all inputs or a degraded mode), of those emitted.

Conditions: all inputs; each modality removed (never published); each pair removed; random
chunk loss (each accel/mic chunk dropped with a probability drawn from 5-30 % per run; index
gaps as a lossy transport leaves them: few windows keep a gap-free 95 % of either stream, so
most are decided, if at all, on what is left); chunk loss on the microphone alone (its Wi-Fi
link) with nothing, the thermal camera or the accelerometer removed (thermal dead + lossy mic:
the accelerometer alone is left); and the monitor given a fifth of a core: the pipeline
runs in a child process that a SIGSTOP/SIGCONT duty cycle lets run 20 ms of every 100 ms,
fed in real time through a bounded queue of 1000 messages that drops the newest when full
(a best-effort DDS reader of depth 1000), so whatever the starved monitor cannot keep up
with is late or lost, as on a loaded robot.

Prints a markdown table and writes results/missing_inputs/{results.json,table.md}.
"""
from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import queue
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pm_monitor.core.alarms import AlarmConfig, AlarmManager
from pm_monitor.core.alarms.lifecycle import AlarmEvent
from pm_monitor.core.imaging.codec import encode, from_celsius
from pm_monitor.core.inference import InferenceConfig
from pm_monitor.core.model_set import load_model_set
from pm_monitor.core.pipeline import InputRejectedError, MonitorPipeline, monitor_assembler
from pm_monitor.core.types import NS_PER_S
from pm_monitor.sim.config import RigConfig
from pm_monitor.sim.fault_schedule import FaultSchedule
from pm_monitor.sim.simulator import RigSimulator
from pm_monitor.sim.streaming import RigClock

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "rig_baseline"
MODALITIES = ("accel", "mic", "thermal", "camera")
ONSET_S = 20.0
FAULTY = {"description": "outer race at the DE bearing, onset 20 s",
          "faults": [{"type": "outer_race", "location": "de_bearing", "onset_s": ONSET_S,
                      "failure_s": 70.0, "growth": 1.0}]}
HEALTHY = {"description": "healthy", "faults": []}
EPOCH_NS = 1_750_000_000 * NS_PER_S
STEP_S = 0.05  # the producer's tick (the rig node ticks every 10 ms of wall time)
QUEUE_DEPTH = 1000
LOSSY = ("accel", "mic")  # the streams chunk loss hits
# removed sets that also run with chunk loss on the microphone alone
MIC_LOSS_CONDITIONS: tuple[tuple[str, ...], ...] = ((), ("thermal",), ("accel",))
DUTY_PERIOD_S, DUTY_RUN_S = 0.1, 0.02  # a fifth of a core


@dataclass
class RunResult:
    schedule: str
    removed: tuple[str, ...]
    chunk_loss: float
    cpu_share: float
    seed: int
    windows: int
    windows_with_missing: int
    false_alarms: int
    first_alarm_s: float | None
    detection_delay_s: float | None
    alarms: list[str]
    chunks_lost_in_transport: int
    chunks_rejected: int
    wall_s: float
    lossy: tuple[str, ...] = LOSSY  # the streams chunk_loss applied to
    windows_decided: int = 0  # windows Stage 1 voted on


class Monitor:
    """The monitor's pipeline as the node builds it (models, assembler, alarms)."""

    def __init__(self, log_dir: str) -> None:
        self.models = load_model_set(MODEL_DIR, InferenceConfig(backend="onnxruntime"))
        alarms = AlarmManager("bench", AlarmConfig(), Path(log_dir) / "alerts.jsonl")
        self.pipeline = MonitorPipeline(
            monitor_assembler(self.models.window_s, self.models.hop_s, 0.1, 2.0,
                              self.models.accel_channels),
            self.models, alarms, sample_rates=self.models.sample_rates,
            accel_unit=self.models.accel_unit)
        self.raised: list[tuple[float, str]] = []
        self.rejected = 0
        self.decided = 0

    def feed(self, kind: str, stamp_ns: int, payload) -> None:
        try:
            if kind in ("accel", "mic"):
                rate, first, data, names = payload
                outputs = self.pipeline.on_chunk(kind, stamp_ns, rate, names, first,
                                                 data.reshape(-1))
            else:
                outputs = self.pipeline.on_image(kind, stamp_ns, f"rig/{kind}", payload)
        except InputRejectedError:
            self.rejected += 1
            return
        for out in outputs:
            self.decided += int(out.result.decided)
            for update in out.decisions:
                if update.event == AlarmEvent.RAISED:
                    t_s = (update.t_ns - EPOCH_NS) / NS_PER_S
                    self.raised.append((t_s, f"{update.severity.name} {update.fault_type} "
                                              f"at {t_s:.1f} s"))

    def counts(self) -> tuple[int, int, int]:
        """(windows emitted, windows with an input missing, windows decided)."""
        stats = self.pipeline.assembler.stats
        return stats.windows_emitted, stats.windows_with_missing, self.decided


def _raw_image(kind: str, pixels: np.ndarray):
    """The image as the rig node puts it on the wire (thermal: mono16 counts)."""
    if kind == "thermal":
        return encode(from_celsius(pixels), "mono16")
    return encode(pixels, "rgb8")


def rig_messages(schedule: dict, seconds: float, removed: tuple[str, ...], chunk_loss: float,
                 seed: int, lossy: tuple[str, ...] = LOSSY):
    """(t_available_s, kind, stamp_ns, payload) of the rig, in order, minus the removed
    modalities and the chunks of the `lossy` streams lost in transport."""
    sim = RigSimulator(RigConfig(), FaultSchedule.from_dict(schedule), seed=seed)
    clock = RigClock(sim, EPOCH_NS)
    names = {"accel": list(sim.config.accel_channels), "mic": ["mic"]}
    rng = np.random.default_rng(seed + 1000)
    t = 0.0
    while t < seconds:
        t = min(seconds, t + STEP_S)
        for item in clock.advance_to(t):
            if item.kind == "truth" or item.kind in removed:
                continue
            if item.kind in ("accel", "mic"):
                if item.kind in lossy and chunk_loss and rng.random() < chunk_loss:
                    yield item.available_s, "lost", 0, None
                    continue
                payload = (item.sample_rate, item.first_sample_index, item.data,
                           names[item.kind])
            else:
                payload = _raw_image(item.kind, item.data)
            yield item.available_s, item.kind, item.stamp_ns, payload


def _result(monitor: Monitor, schedule_name: str, removed, loss, share, seed, lost,
            wall_s, lossy: tuple[str, ...] = LOSSY) -> RunResult:
    onset = ONSET_S if schedule_name == "faulty" else None
    false = [text for t, text in monitor.raised if onset is None or t < onset]
    after = [t for t, _ in monitor.raised if onset is not None and t >= onset]
    windows, with_missing, decided = monitor.counts()
    first = after[0] if after else None
    return RunResult(schedule_name, tuple(removed), loss, share, seed, windows, with_missing,
                     len(false), first, None if first is None else first - onset,
                     [text for _, text in monitor.raised], lost, monitor.rejected, wall_s,
                     tuple(lossy), decided)


def run_offline(schedule_name: str, seconds: float, removed: tuple[str, ...],
                chunk_loss: float, seed: int, lossy: tuple[str, ...] = LOSSY) -> RunResult:
    """Every message reaches the monitor (except the removed and lost ones), no deadline."""
    schedule = FAULTY if schedule_name == "faulty" else HEALTHY
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory() as log_dir:
        monitor = Monitor(log_dir)
        lost = 0
        for _, kind, stamp_ns, payload in rig_messages(schedule, seconds, removed, chunk_loss,
                                                       seed, lossy):
            if kind == "lost":
                lost += 1
                continue
            monitor.feed(kind, stamp_ns, payload)
        return _result(monitor, schedule_name, removed, chunk_loss, 1.0, seed, lost,
                       time.perf_counter() - begin, lossy)


def _starved_consumer(messages: mp.Queue, results: mp.Queue) -> None:
    os.nice(0)
    with tempfile.TemporaryDirectory() as log_dir:
        monitor = Monitor(log_dir)
        results.put("ready")
        while True:
            item = messages.get()
            if item is None:
                break
            monitor.feed(*item)
        results.put((monitor.raised, monitor.counts(), monitor.rejected))


def _duty_cycle(pid: int, stop: list[bool]) -> None:
    """Let `pid` run DUTY_RUN_S of every DUTY_PERIOD_S (SIGSTOP / SIGCONT)."""
    while not stop[0]:
        os.kill(pid, signal.SIGCONT)
        time.sleep(DUTY_RUN_S)
        if stop[0]:
            break
        os.kill(pid, signal.SIGSTOP)
        time.sleep(DUTY_PERIOD_S - DUTY_RUN_S)
    os.kill(pid, signal.SIGCONT)


def run_starved(schedule_name: str, seconds: float, removed: tuple[str, ...], seed: int,
                drain_timeout_s: float = 600.0) -> RunResult:
    """Real time, the monitor on a fifth of a core, a bounded queue in between."""
    import threading

    schedule = FAULTY if schedule_name == "faulty" else HEALTHY
    ctx = mp.get_context("spawn")
    messages: mp.Queue = ctx.Queue(maxsize=QUEUE_DEPTH)
    results: mp.Queue = ctx.Queue()
    consumer = ctx.Process(target=_starved_consumer, args=(messages, results), daemon=True)
    consumer.start()
    if results.get(timeout=300) != "ready":
        raise RuntimeError("monitor process did not start")
    stop = [False]
    throttle = threading.Thread(target=_duty_cycle, args=(consumer.pid, stop), daemon=True)
    throttle.start()
    begin = time.perf_counter()
    lost = 0
    for available_s, kind, stamp_ns, payload in rig_messages(schedule, seconds, removed, 0.0,
                                                             seed):
        delay = available_s - (time.perf_counter() - begin)
        if delay > 0:
            time.sleep(delay)
        try:
            messages.put_nowait((kind, stamp_ns, payload))
        except queue.Full:
            lost += 1  # the reader's queue is full: the newest message is lost
    produced_s = time.perf_counter() - begin
    stop[0] = True
    throttle.join()
    messages.put(None)
    raised, counts, rejected = results.get(timeout=drain_timeout_s)
    consumer.join(timeout=30)
    monitor = Monitor.__new__(Monitor)
    monitor.raised, monitor.rejected = raised, rejected
    monitor.counts = lambda: counts
    result = _result(monitor, schedule_name, removed, 0.0, DUTY_RUN_S / DUTY_PERIOD_S, seed,
                     lost, time.perf_counter() - begin)
    print(f"  (starved run produced {seconds:g} s in {produced_s:.1f} s wall)", flush=True)
    return result


def conditions() -> list[tuple[str, ...]]:
    return [(), *((m,) for m in MODALITIES), *itertools.combinations(MODALITIES, 2)]


def _cell(result: RunResult) -> str:
    if result.schedule == "healthy":
        return f"{result.false_alarms}"
    delay = "-" if result.detection_delay_s is None else f"{result.detection_delay_s:.1f}"
    return f"{result.false_alarms} / {delay}"


def table(results: list[RunResult]) -> str:
    lines = ["| inputs removed | transport | CPU | healthy: false alarms | faulty: false alarms "
             "/ detection delay (s) | windows with an input missing (healthy) | windows "
             "decided (healthy, faulty) |",
             "|---|---|---|---|---|---|---|"]
    keyed: dict[tuple, dict[str, RunResult]] = {}
    for r in results:
        transport = "no loss" if r.chunk_loss == 0 else f"{r.chunk_loss:.0%} chunks lost"
        if r.cpu_share < 1.0:
            transport = f"real time, queue {QUEUE_DEPTH}"
        key = (r.removed, r.chunk_loss > 0 and tuple(r.lossy), r.cpu_share)
        keyed.setdefault(key, {})[r.schedule] = r
        keyed[key]["transport"] = transport
    for (removed, _, share), pair in keyed.items():
        healthy, faulty = pair.get("healthy"), pair.get("faulty")
        lost = [p for p in (healthy, faulty) if p is not None and p.chunk_loss > 0]
        transport = pair["transport"]
        if lost:
            transport = "chunk loss " + " / ".join(f"{p.chunk_loss:.0%}" for p in lost)
            if tuple(lost[0].lossy) != LOSSY:
                transport = f"{'+'.join(lost[0].lossy)} {transport}"
        lines.append(
            f"| {', '.join(removed) or 'none'} | {transport} | "
            f"{'1/5 core' if share < 1 else 'unlimited'} | "
            f"{_cell(healthy) if healthy else '-'} | {_cell(faulty) if faulty else '-'} | "
            f"{f'{healthy.windows_with_missing}/{healthy.windows}' if healthy else '-'} | "
            + ", ".join(f"{r.windows_decided}/{r.windows}" if r else "-"
                         for r in (healthy, faulty)) + " |")
    return "\n".join(lines)


def _progress(label: str, lossy: str, result: RunResult) -> None:
    print(f"{label:>16} {lossy}loss {result.chunk_loss:4.0%} {result.schedule:>7}: "
          f"{_cell(result):>9}  windows {result.windows} ({result.windows_with_missing} "
          f"missing an input, {result.windows_decided} decided)  {result.wall_s:.0f} s",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="rig seconds per run")
    parser.add_argument("--starved-seconds", type=float, default=60.0,
                        help="rig seconds per starved (real-time) run; 0 = skip them")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "results" / "missing_inputs"))
    parser.add_argument("--only", default="", help="comma list of removed sets to run, "
                        "e.g. 'none,accel,accel+mic' (default: all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    wanted = {s for s in args.only.split(",") if s}
    results: list[RunResult] = []
    for removed in conditions():
        label = "+".join(removed) or "none"
        if wanted and label not in wanted:
            continue
        for loss in (0.0, float(rng.uniform(0.05, 0.30))):
            for schedule_name in ("healthy", "faulty"):
                seed = args.seed + len(results)
                result = run_offline(schedule_name, args.seconds, removed, loss, seed)
                results.append(result)
                _progress(label, "", result)
    mic_rng = np.random.default_rng(args.seed + 1)  # the rows above keep their draws
    for removed in MIC_LOSS_CONDITIONS:
        label = "+".join(removed) or "none"
        loss = float(mic_rng.uniform(0.05, 0.30))
        if wanted and label not in wanted:
            continue
        for schedule_name in ("healthy", "faulty"):
            result = run_offline(schedule_name, args.seconds, removed, loss,
                                 args.seed + len(results), lossy=("mic",))
            results.append(result)
            _progress(label, "mic ", result)
    if args.starved_seconds > 0:
        for removed in ((), ("thermal", "camera")):
            for schedule_name in ("healthy", "faulty"):
                result = run_starved(schedule_name, args.starved_seconds, removed,
                                     args.seed + len(results))
                results.append(result)
                print(f"{'+'.join(removed) or 'none':>16} 1/5 core {schedule_name:>7}: "
                      f"{_cell(result):>9}  windows {result.windows}, "
                      f"{result.chunks_lost_in_transport} messages lost to the full queue",
                      flush=True)
    markdown = table(results)
    print(markdown)
    (out / "table.md").write_text(markdown + "\n")
    (out / "results.json").write_text(json.dumps(
        {"onset_s": ONSET_S, "seconds": args.seconds, "model_dir": str(MODEL_DIR),
         "runs": [asdict(r) for r in results]}, indent=1))
    healthy_false = sum(r.false_alarms for r in results if r.schedule == "healthy")
    print(f"false alarms on healthy runs: {healthy_false}; before the onset on faulty runs: "
          f"{sum(r.false_alarms for r in results if r.schedule == 'faulty')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
