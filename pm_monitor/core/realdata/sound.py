"""The microphone path of the real-data cascade: a ring of the last samples across windows and
the MIMII fan autoencoder's score on it.

One analysis window (0.1 s) is far shorter than one model patch (32 STFT frames = 33792
samples, 2.1 s at 16 kHz), so the cascade keeps the newest ``clip_samples`` microphone samples
across windows and scores them when the gate opens. A gap, an invalid stretch or a different
sample rate restarts the ring: a score never spans a discontinuity.
"""
from __future__ import annotations

import numpy as np

from pm_monitor.core.models.acoustic_anomaly import clip_patches
from pm_monitor.core.realdata.profile import AcousticStage2
from pm_monitor.core.stages.contract import InputRefusedError, NetworkRunner
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import MIC, NS_PER_S


class SampleRing:
    """The newest ``capacity`` samples of one channel, contiguous in time."""

    def __init__(self, capacity: int, sample_rate_hz: float) -> None:
        if capacity < 1 or not sample_rate_hz > 0:
            raise ValueError(f"need capacity >= 1 and a positive rate, got {capacity}, "
                             f"{sample_rate_hz}")
        self.capacity, self.sample_rate_hz = capacity, sample_rate_hz
        self._buffer = np.zeros(capacity, np.float32)
        self._count = 0
        self._next_ns: int | None = None  # stamp of the sample after the newest one
        self.restarts = 0

    @property
    def count(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count >= self.capacity

    def clear(self) -> None:
        self._count, self._next_ns = 0, None

    def samples(self) -> np.ndarray:
        """The held samples, oldest first (at most capacity)."""
        return self._buffer[self.capacity - min(self._count, self.capacity):].copy()

    def add(self, window: StreamWindow) -> None:
        """Append the window's samples newer than the ring's newest (windows may overlap)."""
        if window.sample_rate != self.sample_rate_hz:
            raise ValueError(f"mic sample rate {window.sample_rate:g} Hz, the acoustic model "
                             f"was trained at {self.sample_rate_hz:g} Hz")
        x = np.asarray(window.samples, np.float32)
        x = x[:, 0] if x.ndim == 2 else x
        period_ns = NS_PER_S / self.sample_rate_hz
        start = 0
        if self._next_ns is not None:
            offset = (self._next_ns - window.t_start_ns) / period_ns
            # more than half a sample either way: a gap in time or a jump back -> restart
            if offset > x.size + 0.5 or offset < -0.5:
                self.restarts += 1
                self.clear()
            else:
                start = max(0, round(offset))
        valid = np.asarray(window.valid, bool)
        if not valid[start:].all():
            # an invalid stretch (zeros) would read as a very quiet machine: keep only after it
            start = int(np.flatnonzero(~valid)[-1]) + 1
            self.restarts += 1
            self._count = 0
        new = x[start:]
        self._push(new)
        self._next_ns = window.t_start_ns + round(x.size * period_ns)

    def _push(self, new: np.ndarray) -> None:
        n = min(new.size, self.capacity)
        if n == 0:
            return
        self._buffer = np.roll(self._buffer, -n)
        self._buffer[-n:] = new[-n:]
        self._count = min(self._count + n, self.capacity)


class AcousticScorer:
    """Ring of the last clip_samples mic samples + the shipped autoencoder's score (a Scorer
    of pm_monitor.core.stages: reported beside the decision, never a vote on the state)."""

    name = "mic_anomaly"
    modality = MIC

    def __init__(self, acoustic: AcousticStage2, networks: NetworkRunner,
                 network: str = "acoustic") -> None:
        """networks: runs `network` (patches -> patch_error, inference.specs.acoustic_spec)."""
        self.acoustic = acoustic
        self.networks, self.network = networks, network
        self.ring = SampleRing(acoustic.clip_samples, acoustic.spectrogram.sample_rate_hz)

    def add(self, mic: StreamWindow) -> None:
        """Append a microphone window (ValueError for one the model cannot take)."""
        self.ring.add(mic)

    def observe(self, window: AnalysisWindow) -> None:
        """Every window feeds the ring, so a full clip is ready when the gate opens."""
        try:
            self.add(window.streams[MIC])
        except ValueError as err:
            raise InputRefusedError(MIC, str(err)) from None

    def score(self) -> float | None:
        """The anomaly score of the newest clip_samples samples; None until the ring is full."""
        if not self.ring.full:
            return None
        a = self.acoustic
        # clip_score with the network on the set's backend
        patches = clip_patches(a.standardiser, self.ring.samples(), a.spectrogram,
                               a.model.n_frames, a.patch_hop)
        return float(self.networks.run(self.network, {"patches": patches})["patch_error"].mean())

    def scores(self) -> dict[str, float]:
        score = self.score()
        if score is None:
            return {}
        values = {"mic_anomaly_score": score}
        if self.acoustic.threshold is not None:
            values["mic_anomaly_threshold"] = self.acoustic.threshold
        return values

    def status(self) -> dict[str, object]:
        return {"mic_buffer_s": round(self.ring.count / self.ring.sample_rate_hz, 2),
                "mic_buffer_restarts": self.ring.restarts}

    def reset(self) -> None:
        self.ring.clear()
