"""Health states from observable degradation relative to the asset's own reference.

The health indicator (HI) is the level of the window over the commissioning reference: for each
axis the median, over broadband RMS and the high-frequency bands (>= 2.2 kHz, where bearing
impacts ring the structure), of value / reference median; the HI is the largest axis. States
follow the recognised stages of rolling-bearing damage (e.g. SKF / Berry's four stages: stage 1-2
high-frequency impacts with the overall level near baseline, stage 3 defect tones and a rising
broadband level, stage 4 broadband noise, level several times the baseline) and the alert/alarm
practice of ISO 13381-1 (prognostics: thresholds on a trended indicator against its baseline,
with confirmation). Levels in multiples of the baseline, as in vibration practice (+6 dB alert):

- Pre-Warning: HI >= 2 (+6 dB) confirmed by `persistence` consecutive windows, or a trend
  rise: on EVERY axis, the level has risen `trend_ratio` x above the lowest level that axis
  sustained (for `persistence` windows) since commissioning, confirmed the same way. After
  running-in many bearings settle below their first readings (as core/rul/onset.py notes), so
  the lowest sustained level, not the commissioning median, is the healthy baseline a rise is
  measured from; asking every axis keeps a local knock or one loose sensor from raising it;
  or an impact rise: on EVERY axis the crest factor has risen `crest_trend_ratio` x above its
  lowest sustained crest factor, confirmed the same way (stage 1-2: impacts ring the structure
  while the overall level stays near baseline). This one counts in impulsive windows too: a
  crest rise sustained for `persistence` windows on every axis is not an isolated impact;
  or a defect tone: the window deviates from the reference (anomaly model over its
  threshold) AND the envelope names a bearing defect tone (stage 2: defect frequencies appear
  while the level is still near baseline), for `persistence` windows in a row, then confirmed
  the same way. The deviation alone is no
  state: a new asset's run-in deviates from its first minutes for hours without damage (through
  the live path it alerted in the first half of life on 5 of 11 FEMTO bearings when it could);
  the tone alone neither: one line over the floor happens in healthy spectra;
- Warning: HI >= 4 (+12 dB) confirmed, or Pre-Warning with a named defect tone (stage 3);
- Failure: HI >= 10 (+20 dB) confirmed, or ISO 10816-3 zone D.
A window dominated by an isolated impact (kurtosis over `impulsive_kurtosis_ratio` x the
reference) neither confirms nor clears a state: early-life debris or contact events are not
the sustained level change that marks damage. Impacts that repeat at a named defect frequency
in a deviating window are not isolated (a spalled race is impulsive on every revolution: CWRU's
0.014" inner and 0.021" outer race records are impulsive in every window and stayed Normal with
levels of 3-9x before this exemption), so such a window is judged like any other. The tone
must hold for `persistence` windows in a row first: the first version exempted any single named
window, and FEMTO Bearing2_3 (a test bearing; impulsive bursts with sporadic named lines early
in life) then alarmed at 16 % of life; this requirement was added after seeing that.
States never fall back on their own (a bearing does not heal; `reset` after maintenance), so
an alert once raised is never dropped.
Before commissioning completes, the state is judged by the ISO zone alone.

`trend_ratio` (1.778 = +5 dB) and `crest_trend_ratio` (3.981 = +12 dB) were chosen on the 11
FEMTO bearings, on a 1 dB grid, as the pair with no first-half alarm and <= 1 % first-half
not-Normal windows that gives the longest median lead (ties: the less sensitive pair); the
evaluation (pm_monitor/evaluation/any_machine/femto_eval.py) reports each bearing with the pair
chosen that way on the other 10 (leave one bearing out) as its headline. The two indicators,
the every-axis rule and the lowest-sustained floor were picked after looking at all 11 bearings:
LOBO covers the ratios, not those choices. CWRU, the rig and the demo run the defaults.
The floor is never taken below `trend_floor_min` of the reference (0.25, not tuned: FEMTO floors
are 0.48-1.0), so a near-dead sensor cannot make every later window look like a rise.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from pm_monitor.core.alarms.severity_zones import IsoZone, zone_health_state
from pm_monitor.core.types import HealthState


@dataclass(frozen=True)
class HealthRules:
    pre_warning_ratio: float = 2.0
    warning_ratio: float = 4.0
    failure_ratio: float = 10.0
    persistence: int = 3
    impulsive_kurtosis_ratio: float = 5.0
    hf_band_min_hz: float = 2200.0
    trend_ratio: float = 1.778  # +5 dB; rise over the lowest sustained level, on every axis
    trend_floor_min: float = 0.25  # the lowest level a rise is counted from (x reference)
    crest_trend_ratio: float = 3.981  # +12 dB; crest-factor rise, every axis (impacts)


def level_features(feature_names: list[str] | tuple[str, ...],
                   hf_band_min_hz: float = HealthRules.hf_band_min_hz) -> list[int]:
    """Indices of the features the HI uses: broadband RMS and bands starting >= hf_band_min_hz."""
    out = [feature_names.index("rms_g")]
    for i, name in enumerate(feature_names):
        if name.startswith("band_"):
            low_khz = float(name.split("_")[1])
            if low_khz * 1000.0 >= hf_band_min_hz:
                out.append(i)
    return out


def axis_levels(values: np.ndarray, reference_levels: np.ndarray, indices: list[int]) -> np.ndarray:
    """Per axis: median over `indices` of value / reference level (the HI is their max)."""
    ratios = np.asarray(values)[:, indices] / np.maximum(reference_levels[:, indices], 1e-12)
    return np.median(ratios, axis=1)


class LowestSustained:
    """Per axis, the lowest level sustained for `persistence` windows so far (the floor), kept
    within [floor_min, 1] x the reference; `rise` = min over axes of level / floor."""

    def __init__(self, persistence: int, floor_min: float) -> None:
        self._recent: deque[np.ndarray] = deque(maxlen=max(persistence, 1))
        self.floor_min = floor_min
        self.floor: np.ndarray | None = None

    def rise(self, levels: np.ndarray | None) -> float:
        """The rise of this window (nan until a floor exists, or for missing / bad levels, which
        do not vote)."""
        if levels is None or not np.all(np.isfinite(levels)) or np.any(np.asarray(levels) <= 0):
            return float("nan")
        levels = np.asarray(levels, dtype=np.float64)
        self._recent.append(levels)
        if len(self._recent) == self._recent.maxlen:
            sustained = np.clip(np.max(np.stack(self._recent), axis=0), self.floor_min, 1.0)
            self.floor = sustained if self.floor is None or self.floor.shape != sustained.shape \
                else np.minimum(self.floor, sustained)
        if self.floor is None:
            return float("nan")
        return float(np.min(levels / self.floor))

    def to_dict(self) -> dict:
        return {"recent": [r.tolist() for r in self._recent],
                "floor": None if self.floor is None else self.floor.tolist()}

    def restore(self, data: dict) -> None:
        """Take back a `to_dict` (e.g. after a restart of the node)."""
        self._recent.clear()
        self._recent.extend(np.asarray(r, dtype=np.float64) for r in data["recent"])
        self.floor = None if data["floor"] is None else np.asarray(data["floor"], np.float64)


class HealthStateMachine:
    """Confirmed, latching states from the HI, the diagnosis and the ISO zone."""

    def __init__(self, rules: HealthRules | None = None) -> None:
        self.rules = rules or HealthRules()
        self.state = HealthState.NORMAL
        self._counts = {HealthState.PRE_WARNING: 0, HealthState.WARNING: 0,
                        HealthState.FAILURE: 0}
        self._level = LowestSustained(self.rules.persistence, self.rules.trend_floor_min)
        self._crest = LowestSustained(self.rules.persistence, self.rules.trend_floor_min)
        self._tone_run = 0  # consecutive windows deviating with a named defect tone
        self.rise = float("nan")  # level rise of the last judged window (min over axes)
        self.crest_rise = float("nan")  # crest-factor rise of the last window (min over axes)

    def reset(self) -> None:
        self.__init__(self.rules)

    def to_dict(self) -> dict:
        """What the machine has learned and latched (JSON-able), for a restart to resume from
        (the RUL tracker state, core/rul/state.py): state, confirmation counts, floors."""
        return {"state": int(self.state),
                "counts": {HealthState(k).name.lower(): n for k, n in self._counts.items()},
                "level": self._level.to_dict(), "crest": self._crest.to_dict(),
                "tone_run": self._tone_run}

    def restore(self, data: dict) -> None:
        """Take back a `to_dict`. Raises KeyError / ValueError / TypeError for a bad one."""
        state = HealthState(int(data["state"]))
        counts = {HealthState[k.upper()]: int(n) for k, n in data["counts"].items()}
        if set(counts) != set(self._counts):
            raise ValueError(f"health state counts for {sorted(data['counts'])}")
        self._level.restore(data["level"])
        self._crest.restore(data["crest"])
        self.state, self._counts, self._tone_run = state, counts, int(data["tone_run"])

    def update(self, hi: float | None, impulsive: bool, defect_named: bool,
               zone: IsoZone, levels: np.ndarray | None = None,
               crest: np.ndarray | None = None, anomalous: bool = False,
               bearing_rules: bool = True) -> HealthState:
        """One window. `hi` None = no reference yet (ISO zones only). `levels`: the per-axis
        levels over the reference (`axis_levels`), `crest`: the per-axis crest factor over the
        reference's, for the trend rises; None = that rise does not vote. `anomalous`: the
        anomaly model says the window deviates from the reference (with `defect_named`: the
        defect-tone rule). `bearing_rules` False (a stream too slow to observe the band where
        bearing impacts ring, core/condition/monitor.py): the level, rise and tone rules do not
        vote; the ISO zones judge, with the isolated-impact guard as always."""
        zone_state = zone_health_state(zone) or HealthState.NORMAL
        candidate = zone_state
        if hi is not None:
            if not bearing_rules:
                levels, crest, defect_named = None, None, False
            r = self.rules
            alert = HealthState.WARNING if defect_named else HealthState.PRE_WARNING
            self.crest_rise = self._crest.rise(crest)
            impacts_rose = self.crest_rise >= r.crest_trend_ratio  # nan compares False
            # impacts repeating at a defect frequency: the tone named in a deviating window for
            # `persistence` windows in a row (one named window inside an impulsive burst is not)
            self._tone_run = self._tone_run + 1 if defect_named and anomalous else 0
            tone = self._tone_run >= r.persistence
            isolated = impulsive and not tone
            if isolated and not impacts_rose:
                return self.state  # an isolated impact neither confirms nor clears
            if impacts_rose:
                candidate = max(candidate, alert)
            if tone:
                candidate = max(candidate, HealthState.PRE_WARNING)
            if not impulsive:  # the floors learn from impact-free windows only
                self.rise = self._level.rise(levels)
                if self.rise >= r.trend_ratio:
                    candidate = max(candidate, alert)
            if not isolated and bearing_rules:
                if hi >= r.failure_ratio:
                    candidate = max(candidate, HealthState.FAILURE)
                elif hi >= r.warning_ratio:
                    candidate = max(candidate, HealthState.WARNING)
                elif hi >= r.pre_warning_ratio:
                    candidate = max(candidate, alert)
        for level in self._counts:
            self._counts[level] = self._counts[level] + 1 if candidate >= level else 0
        confirmed = max((lvl for lvl, n in self._counts.items()
                         if n >= self.rules.persistence), default=HealthState.NORMAL)
        self.state = HealthState(max(self.state, confirmed))
        return self.state
