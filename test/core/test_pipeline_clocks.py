"""The pipeline applies the inputs' clock models before the synchroniser (pipeline.py with
core/sync/clock_offsets.py): a microphone whose clock runs 30 ms ahead gets windows on the
reference clock once the offset is confident; stamping by arrival replaces broken stamps."""
from __future__ import annotations

import numpy as np

from pm_monitor.core.alarms import AlarmManager
from pm_monitor.core.pipeline import MonitorPipeline, assembler_diagnostics, monitor_assembler
from pm_monitor.core.sync.clock_offsets import CONFIDENT, ClockConfig, ClockOffsets

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
RATE = 8000.0
CHUNK = 160


class Recorder:
    def __init__(self) -> None:
        self.windows = []

    def process(self, window):
        self.windows.append(window)
        raise RuntimeError("no models here")  # counted by the pipeline, windows still seen


def pipeline_with(clocks: ClockOffsets) -> MonitorPipeline:
    assembler = monitor_assembler(1.0, 0.5, 0.1, 2.0, accel_channels=("x",))
    return MonitorPipeline(assembler, Recorder(), AlarmManager("rig_1"), clocks=clocks)


def bursts(duration_s: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    envelope = np.full(int(duration_s * RATE), 0.2)
    for start in rng.uniform(0, duration_s, int(duration_s * 4)):
        k = int(start * RATE)
        envelope[k:k + int(0.08 * RATE)] += rng.uniform(0.5, 3.0)
    return envelope * rng.standard_normal(len(envelope))


def test_a_confident_offset_moves_the_input_onto_the_reference_clock():
    clocks = ClockOffsets(ClockConfig(band_hz=(1000.0, 3000.0), window_s=10.0,
                                      update_period_s=1.0), streams=("accel", "mic"))
    pipeline = pipeline_with(clocks)
    signal = bursts(30.0).astype(np.float32)
    offset_ns = 30_000_000
    for k in range(0, len(signal) - CHUNK, CHUNK):
        stamp = T0 + round(k / RATE * NS)
        block = signal[k:k + CHUNK]
        pipeline.on_chunk("accel", stamp, RATE, ["x"], k, block)
        pipeline.on_chunk("mic", stamp + offset_ns, RATE, ["mic"], k, block)
    estimate = clocks.estimate("mic")
    assert estimate.status == CONFIDENT and estimate.applied
    assert abs(estimate.offset_s * NS - offset_ns) < 2_000_000
    # the newest mic sample now sits where the reference clock has it
    newest_mic = pipeline.assembler.stream_buffers["mic"].latest_time_ns
    newest_accel = pipeline.assembler.stream_buffers["accel"].latest_time_ns
    assert abs(newest_mic - newest_accel) < 3_000_000
    values = assembler_diagnostics(pipeline.assembler, clocks)
    assert values["clock_mic_status"] == CONFIDENT and values["clock_mic_corrected"] is True


def test_stamp_by_arrival_replaces_a_broken_driver_clock():
    clocks = ClockOffsets(ClockConfig(), streams=("accel", "mic"), stamp_by_arrival=("mic",))
    pipeline = pipeline_with(clocks)
    block = np.zeros(CHUNK, dtype=np.float32)
    # a driver that stamps 0 (no clock) is refused without arrival stamping; here it is taken
    pipeline.on_chunk("mic", 0, RATE, ["mic"], 0, block, now_ns=T0 + NS)
    newest = pipeline.assembler.stream_buffers["mic"].latest_time_ns
    assert T0 + NS - CHUNK / RATE * NS <= newest <= T0 + NS
    assert pipeline.stats.inputs["mic"].rejected == 0
