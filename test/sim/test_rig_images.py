"""Thermal and camera frames: thermal model, hot spot location, rendering and determinism."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pm_monitor.sim import FaultSchedule, RigConfig, RigLayout, RigSimulator, ScheduledFault
from pm_monitor.sim.thermal import lagged_severity

CONFIG = RigConfig()
DE_FAULT = FaultSchedule((ScheduledFault("outer_race", "de_bearing", 40.0, 200.0),))
NDE_FAULT = FaultSchedule((ScheduledFault("inner_race", "nde_bearing", 30.0, 240.0),))


@pytest.mark.parametrize("growth", [0.0, 3.0, 8.0])
def test_closed_form_lag_matches_numerical_integration(growth):
    fault = ScheduledFault("ball", "de_bearing", onset_s=10.0, failure_s=70.0, growth=growth)
    tau = 15.0
    times = np.linspace(0.0, 150.0, 61)
    solution = solve_ivp(lambda t, y: (fault.severity(t) - y) / tau, (0.0, 150.0), [0.0],
                         t_eval=times, max_step=0.05, rtol=1e-9, atol=1e-12)
    closed = [lagged_severity(fault, t, tau) for t in times]
    np.testing.assert_allclose(closed, solution.y[0], atol=1e-4)


def test_housing_temperature_rises_with_severity_and_lags_it():
    sim = RigSimulator(CONFIG, DE_FAULT, seed=0)
    times = np.arange(0.0, 400.0, 10.0)
    de = [sim.truth(t).housing_temps_c["de_bearing"] for t in times]
    nde = [sim.truth(t).housing_temps_c["nde_bearing"] for t in times]
    assert de[0] == CONFIG.de_housing_c
    assert np.all(np.diff(de) >= 0.0) and de[-1] > de[0]
    assert nde == [CONFIG.nde_housing_c] * len(times)  # the healthy housing stays put
    # Lag: at failure the housing has not yet reached the full rise; long after, it has.
    at_failure = sim.truth(200.0).housing_temps_c["de_bearing"] - CONFIG.de_housing_c
    assert 0.5 * CONFIG.fault_heating_k < at_failure < CONFIG.fault_heating_k
    assert de[-1] - CONFIG.de_housing_c == pytest.approx(CONFIG.fault_heating_k, abs=0.1)


@pytest.mark.parametrize(("schedule", "location"), [(DE_FAULT, "de_bearing"),
                                                    (NDE_FAULT, "nde_bearing")])
def test_thermal_hotspot_sits_on_the_failing_housing(schedule, location):
    sim = RigSimulator(CONFIG, schedule, seed=1)
    t = schedule.faults[0].failure_s
    frame = sim.thermal(t)
    hotspot = sim.thermal_hotspot_px(t)
    assert hotspot == sim.layout.housing_centre_px(location, 160, 120)
    housing = sim.layout.housing(location).to_pixels(160, 120)
    region = frame[housing.slices]
    peak_y, peak_x = np.unravel_index(np.argmax(region), region.shape)
    assert abs(housing.x0 + peak_x - hotspot[0]) <= 2
    assert abs(housing.y0 + peak_y - hotspot[1]) <= 2
    # The frame's hottest spot is this housing's peak, reading the true peak temperature.
    assert frame.max() == region.max()
    truth_c = sim.truth(t).housing_temps_c[location]
    assert frame[hotspot[1], hotspot[0]] == pytest.approx(truth_c, abs=1.0)


def test_no_hotspot_while_healthy():
    sim = RigSimulator(CONFIG, DE_FAULT, seed=1)
    assert sim.thermal_hotspot_px(39.0) is None
    assert RigSimulator(CONFIG, FaultSchedule(), seed=1).thermal_hotspot_px(500.0) is None


def test_thermal_frame_temperatures_are_plausible():
    sim = RigSimulator(CONFIG, FaultSchedule(), seed=2)
    frame = sim.thermal(12.0)
    assert frame.shape == (120, 160) and frame.dtype == np.float32
    layout = sim.layout
    wall = frame[2:12, 2:30]  # top-left corner: background
    assert wall.mean() == pytest.approx(CONFIG.ambient_c, abs=1.0)
    motor = frame[layout.motor.to_pixels(160, 120).slices]
    assert motor.mean() == pytest.approx(CONFIG.motor_c, abs=2.0)
    de = frame[layout.de_housing.to_pixels(160, 120).slices][3:-3, 3:-3]
    assert de.mean() == pytest.approx(CONFIG.de_housing_c, abs=1.0)


def test_thermal_noise_is_about_the_netd():
    sim = RigSimulator(CONFIG, FaultSchedule(), seed=3)
    a, b = sim.thermal(100.0), sim.thermal(100.1)  # 0.1 s apart: same scene, new noise
    difference = (a - b) - np.mean(a - b)  # drops the frame offsets
    assert np.std(difference) / np.sqrt(2) == pytest.approx(CONFIG.thermal_netd_k, rel=0.15)


def test_images_are_deterministic():
    first, again = RigSimulator(CONFIG, DE_FAULT, seed=9), RigSimulator(CONFIG, DE_FAULT, seed=9)
    other = RigSimulator(CONFIG, DE_FAULT, seed=10)
    np.testing.assert_array_equal(first.thermal(150.0), again.thermal(150.0))
    np.testing.assert_array_equal(first.camera(150.0), again.camera(150.0))
    assert not np.array_equal(first.thermal(150.0), other.thermal(150.0))


def test_camera_frame_format_and_scene():
    sim = RigSimulator(CONFIG, FaultSchedule(), seed=4)
    frame = sim.camera(1.0)
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    housing = frame[sim.layout.de_housing.to_pixels(320, 240).slices].astype(float)
    wall = frame[5:20, 5:40].astype(float)
    assert housing.mean() < wall.mean() - 50  # dark housing against a light wall


def test_camera_shows_the_rotating_shaft_marker():
    sim = RigSimulator(RigConfig(camera_noise=0.0), FaultSchedule(), seed=4)
    period = 1.0 / CONFIG.shaft_hz
    frames = [sim.camera(10.0 + k * period / 8).astype(int) for k in range(8)]
    stub = sim.layout.shaft_stub.to_pixels(320, 240)
    outside_stub = np.ones(frames[0].shape[:2], dtype=bool)
    outside_stub[stub.slices] = False
    stub_views = {frame[stub.slices].tobytes() for frame in frames}
    assert len(stub_views) >= 4  # the marker moves through the turn
    for frame in frames[1:]:
        np.testing.assert_array_equal(frame[outside_stub], frames[0][outside_stub])


def test_camera_shows_leak_and_discolouration_at_the_failing_housing_only():
    healthy = RigSimulator(CONFIG, FaultSchedule(), seed=5)
    failing = RigSimulator(CONFIG, DE_FAULT, seed=5)
    layout = healthy.layout
    t_early, t_late = 100.0, 199.0  # severity ~0.2 and ~1

    def region_mean(sim, box, t):
        return sim.camera(t)[box.to_pixels(320, 240).slices].astype(float).mean(axis=(0, 1))

    for box in (layout.de_housing, layout.de_pedestal):
        early_delta = region_mean(failing, box, t_early) - region_mean(healthy, box, t_early)
        assert np.all(np.abs(early_delta) < 1.0)
        late_delta = region_mean(failing, box, t_late) - region_mean(healthy, box, t_late)
        assert np.abs(late_delta).max() > 10.0
    nde_delta = (region_mean(failing, layout.nde_housing, t_late)
                 - region_mean(healthy, layout.nde_housing, t_late))
    assert np.all(np.abs(nde_delta) < 1.0)


@pytest.mark.parametrize("location", ["de_bearing", "nde_bearing"])
def test_layout_is_shared_between_thermal_and_camera(location):
    layout = RigLayout()
    tx, ty = layout.housing_centre_px(location, 160, 120)
    cx, cy = layout.housing_centre_px(location, 320, 240)
    assert abs(cx - 2 * tx) <= 1 and abs(cy - 2 * ty) <= 1
    assert layout.housing(location).to_pixels(160, 120).contains(tx, ty)
    # The housing centre is on the shaft line (where the bearing is).
    shaft = layout.shaft.to_pixels(320, 240)
    assert shaft.y0 <= cy < shaft.y1
    with pytest.raises(ValueError, match="gearbox"):
        layout.housing("gearbox")
