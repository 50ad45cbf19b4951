"""The one feature extractor shared by training, evaluation and the live node.

Feature vector layout (names "<sensor>.<feature>"), with the compression applied:

    accel_{x,y,z}: rms, peak, tke (log10); crest, kurtosis, spectral_kurtosis (ln of the moment
                   ratio, >= 0); env_bpfo, env_bpfi, env_2bsf (ln of the envelope peak / median)
    mic:           band_<lo>_<hi>hz (log10 band power)
    thermal:       max_c, mean_c (deg C, linear); contrast (ln(1 + max - median))

Vibration amplitudes, kurtosis and envelope peaks span decades between a healthy and a failing
bearing; the logs keep the standardised inputs of the models in a sane range.
"""
from __future__ import annotations

import numpy as np

from pm_monitor.core.features import acoustic, thermal, vibration
from pm_monitor.core.features.config import FeatureConfig
from pm_monitor.core.signals.bearing import defect_frequencies
from pm_monitor.core.sync.window import AnalysisWindow, StreamWindow
from pm_monitor.core.types import ACCEL, MIC, THERMAL

VIBRATION_FEATURES: tuple[str, ...] = (
    "rms",
    "peak",
    "crest",
    "kurtosis",
    "spectral_kurtosis",
    "tke",
    "env_bpfo",
    "env_bpfi",
    "env_2bsf",
)
THERMAL_FEATURES: tuple[str, ...] = ("max_c", "mean_c", "contrast")
_TINY = 1e-12


class FeatureExtractor:
    """extract(window) -> (features float32 (D,), present bool (D,)); absent features are 0."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        freqs = defect_frequencies(self.config.shaft_hz, self.config.bearing)
        # A ball defect strikes both races once per spin revolution: its impacts come at 2 BSF.
        self._defect_hz = (freqs.bpfo, freqs.bpfi, 2.0 * freqs.bsf)
        accel_groups = tuple(f"accel_{axis}" for axis in self.config.accel_axes)
        mic_features = tuple(
            f"band_{lo:g}_{hi:g}hz" for lo, hi in self.config.mic_bands_hz
        )
        layout = [(g, VIBRATION_FEATURES) for g in accel_groups]
        layout += [(MIC, mic_features), (THERMAL, THERMAL_FEATURES)]
        self.sensor_groups: tuple[str, ...] = tuple(group for group, _ in layout)
        self.feature_names: tuple[str, ...] = tuple(
            f"{group}.{name}" for group, names in layout for name in names
        )
        self.sensor_of_feature: dict[str, str] = {
            name: name.split(".", 1)[0] for name in self.feature_names
        }
        self._slices: dict[str, slice] = {}
        start = 0
        for group, names in layout:
            self._slices[group] = slice(start, start + len(names))
            start += len(names)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def modality_of_sensor(self, sensor: str) -> str:
        """accel_x -> accel, mic -> mic, thermal -> thermal."""
        return ACCEL if sensor.startswith(f"{ACCEL}_") else sensor

    def sensor_slice(self, sensor: str) -> slice:
        """Where the features of one sensor group lie in the vector."""
        return self._slices[sensor]

    def extract(self, window: AnalysisWindow) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros(self.n_features, dtype=np.float32)
        present = np.zeros(self.n_features, dtype=bool)
        accel = self._gap_free(window.streams.get(ACCEL))
        if accel is not None and self._usable(accel):
            for axis_index, axis in enumerate(self.config.accel_axes):
                channel = self._channel_index(accel, axis, axis_index)
                if channel is not None:
                    self._put(values, present, f"accel_{axis}", self._vibration(accel, channel))
        mic = self._gap_free(window.streams.get(MIC))
        if mic is not None and self._usable(mic):
            signal = _centred(mic.samples[:, 0])
            self._put(values, present, MIC, acoustic.log_band_energies(
                signal, mic.sample_rate, self.config.mic_bands_hz
            ))
        frame = window.frames.get(THERMAL)
        if frame is not None and np.all(np.isfinite(frame.image)):
            peak, mean, contrast = thermal.thermal_stats(frame.image)
            self._put(values, present, THERMAL, [peak, mean, np.log1p(max(contrast, 0.0))])
        return values, present

    def _vibration(self, stream: StreamWindow, channel: int) -> list[float]:
        cfg = self.config
        x = _centred(stream.samples[:, channel])
        rms, peak, crest, kurtosis = vibration.time_domain_stats(x)
        sk = vibration.spectral_kurtosis(x, stream.sample_rate, cfg.spectral_kurtosis_nperseg)
        tke = vibration.teager_kaiser_energy(x)
        env, bin_hz = vibration.envelope_spectrum(x, stream.sample_rate, cfg.resonance_band_hz)
        top = min(int(cfg.envelope_max_hz / bin_hz), env.size - 1)
        reference = float(np.median(env[1 : top + 1])) if top >= 1 else 0.0
        ratios = [
            vibration.envelope_peak_ratio(
                env, bin_hz, hz, cfg.envelope_harmonics, cfg.envelope_tolerance, reference
            )
            for hz in self._defect_hz
        ]
        return [
            np.log10(max(rms, _TINY)),
            np.log10(max(peak, _TINY)),
            np.log(max(crest, 1.0)),
            np.log(max(kurtosis, _TINY)),
            np.log(max(sk + 2.0, _TINY)),  # sk + 2 = E|X|^4 / (E|X|^2)^2 >= 1
            np.log10(max(tke, _TINY)),
            *(np.log(max(r, _TINY)) for r in ratios),
        ]

    def _gap_free(self, stream: StreamWindow | None) -> StreamWindow | None:
        """The longest stretch of received samples (StreamWindow.longest_received), if it
        covers min_coverage of the window; None otherwise."""
        if stream is None:
            return None
        stretch = stream.longest_received()
        if stretch is None or stretch.valid.size < self.config.min_coverage * stream.valid.size:
            return None
        return stretch

    def _usable(self, stream: StreamWindow) -> bool:
        """Enough received samples and nothing non-finite; else the sensor counts as absent."""
        return (
            stream.samples.shape[0] >= 64
            and stream.coverage >= self.config.min_coverage
            and bool(np.all(np.isfinite(stream.samples)))
        )

    def _channel_index(self, stream: StreamWindow, axis: str, default: int) -> int | None:
        """Channel of an axis by name ("x" or "accel_x"), else by position."""
        for i, name in enumerate(stream.channel_names):
            if name in (axis, f"accel_{axis}"):
                return i
        return default if default < stream.samples.shape[1] else None

    def _put(self, values: np.ndarray, present: np.ndarray, group: str, row) -> None:
        where = self._slices[group]
        values[where] = np.asarray(row, dtype=np.float32)
        present[where] = True


def _centred(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    return x - x.mean()
