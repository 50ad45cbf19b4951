"""`python -m pm_monitor.commission` on a recording gives the reference the live path gives."""
import numpy as np

from pm_monitor.commission import main
from pm_monitor.core.assets.description import load
from pm_monitor.core.condition.live import LiveAssetMonitor
from pm_monitor.core.condition.reference import ReferenceStore
from pm_monitor.core.recording.mcap_bag import McapRecorder
from pm_monitor.core.recording.typestore import typestore

RATE = 20000.0


def _chunks():
    rng = np.random.default_rng(7)
    t = np.arange(int(4 * RATE)) / RATE
    x = 0.05 * rng.standard_normal(t.size) + 0.02 * np.sin(2 * np.pi * 29.3 * t)
    return [x[s:s + 2000, None] for s in range(0, x.size, 2000)]


def _record(folder):
    types = typestore().types
    chunk_t = types["pm_monitor/msg/SensorChunk"]
    header_t, time_t = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    with McapRecorder(folder) as bag:
        for i, c in enumerate(_chunks()):
            stamp = time_t(sec=i // 10, nanosec=(i % 10) * 100_000_000)
            msg = chunk_t(header=header_t(stamp=stamp, frame_id="accel"), sample_rate=RATE,
                          channel_names=["DE"], unit="g", first_sample_index=i * 2000,
                          samples=c[:, 0].astype(np.float32))
            bag.write_message("/pm/accel", msg, i * 100_000_000)
    return folder


def test_commission_from_a_recording_equals_live(tmp_path, capsys):
    rec = _record(tmp_path / "bag")
    rc = main([str(rec), "--asset", "cwru_motor", "--store", str(tmp_path / "cli"),
               "--window-s", "0.5"])
    assert rc == 0 and "commissioning complete" in capsys.readouterr().out
    cli = ReferenceStore(tmp_path / "cli").load("cwru_motor")
    live = LiveAssetMonitor(load("config/assets/cwru_motor.yaml"),
                            ReferenceStore(tmp_path / "live"), window_s=0.5)
    for c in _chunks():
        live.push(c.astype(np.float32), ["DE"], RATE, "g")
        if live.monitor.commissioned:
            break
    ref = ReferenceStore(tmp_path / "live").load("cwru_motor")
    assert cli.complete and ref.complete
    np.testing.assert_allclose(cli.median, ref.median, rtol=1e-6)
    np.testing.assert_allclose(cli.precision, ref.precision, rtol=1e-5, atol=1e-8)
    assert cli.threshold == ref.threshold
