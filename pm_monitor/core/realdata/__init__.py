"""The real-data profile: the models trained and measured on real public data (FEMTO Stage 1
and anomaly score, thermal_motor, NEU camera, MIMII fan), run live by the monitor instead of
the rig-trained bundle. Entry point: ``build_real_cascade`` (realdata/factory.py)."""
from pm_monitor.core.realdata.cascade import RealDataCascade
from pm_monitor.core.realdata.factory import build_real_cascade
from pm_monitor.core.realdata.profile import RealDataProfile, load_real_profile

__all__ = ["RealDataCascade", "RealDataProfile", "build_real_cascade", "load_real_profile"]
