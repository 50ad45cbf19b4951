"""Shaft speed: fixed, from a tachometer topic, or estimated from the shaft harmonics.

Real speeds drift several percent from the nameplate (slip grows with load), enough to move a
3rd harmonic of BPFI out of its search window. `estimate_shaft_hz` finds the speed within
+-`search_fraction` of nominal whose first harmonics carry the most spectral amplitude
(harmonic sum on a zero-padded Hann periodogram; scipy.signal). Windows too short to resolve
the search range return the nominal speed (`SpeedEstimate.estimated` False).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class SpeedEstimate:
    shaft_hz: float
    estimated: bool  # False: the nominal (or given) value was used


def estimate_shaft_hz(x: np.ndarray, rate_hz: float, nominal_hz: float,
                      search_fraction: float = 0.05, harmonics: int = 4) -> SpeedEstimate:
    """Speed maximising the sum of the log amplitudes at its first `harmonics` multiples."""
    x = np.asarray(x, dtype=np.float64)
    duration = x.size / rate_hz
    resolution = 1.0 / duration
    if search_fraction <= 0 or resolution > 2 * search_fraction * nominal_hz * harmonics:
        return SpeedEstimate(nominal_hz, False)
    nfft = int(2 ** np.ceil(np.log2(8 * x.size)))
    freqs, power = signal.periodogram(x, fs=rate_hz, window="hann", nfft=nfft,
                                      detrend="constant", scaling="spectrum")
    amp = np.sqrt(power)
    candidates = np.linspace(nominal_hz * (1 - search_fraction),
                             nominal_hz * (1 + search_fraction), 201)
    floor = np.median(amp[(freqs > 0.5 * nominal_hz) & (freqs < (harmonics + 1) * nominal_hz)])
    score = np.zeros(candidates.size)
    for k in range(1, harmonics + 1):
        score += np.log(np.interp(k * candidates, freqs, amp) / max(floor, 1e-20) + 1.0)
    return SpeedEstimate(float(candidates[int(np.argmax(score))]), True)


# Speed drifts slowly, so it is estimated on the last seconds of the stream rather than on one
# window: 4 s resolve 0.25 Hz, enough to tell the 4x shaft harmonic of a 4-pole motor on a
# 60 Hz grid with 1 % slip (118.8 Hz) from the strong 120 Hz mains line beside it; a 0.5 s
# window (2 Hz bins) cannot, and its estimate jumps between the two.
HISTORY_S = 4.0


class SpeedTracker:
    """`estimate_shaft_hz` over the last `history_s` seconds of a stream fed window by window."""

    def __init__(self, rate_hz: float, nominal_hz: float, search_fraction: float,
                 history_s: float = HISTORY_S) -> None:
        self.rate_hz, self.nominal_hz = float(rate_hz), float(nominal_hz)
        self.search_fraction = float(search_fraction)
        self._keep = max(int(history_s * rate_hz), 1)
        self._recent = np.zeros(0)

    def reset(self) -> None:
        """Forget the stream (a new run, or data that does not continue the last window)."""
        self._recent = np.zeros(0)

    def update(self, x: np.ndarray, new_s: float | None = None) -> SpeedEstimate:
        """Add a window whose last `new_s` seconds are new (default: all of it) and estimate."""
        x = np.asarray(x, dtype=np.float64)
        n_new = x.size if new_s is None else min(x.size, max(round(new_s * self.rate_hz), 0))
        if self._recent.size == 0:
            n_new = x.size  # nothing before it: the whole window is the history
        self._recent = np.concatenate([self._recent, x[x.size - n_new:]])[-self._keep:]
        return estimate_shaft_hz(self._recent, self.rate_hz, self.nominal_hz,
                                 self.search_fraction)
