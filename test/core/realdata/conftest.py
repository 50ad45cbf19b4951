"""Tests here import their helpers from realdata_windows.py beside them."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
