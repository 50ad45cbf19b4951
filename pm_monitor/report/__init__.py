"""Reports: turn a recorded run (MCAP) or the demo's output folder into HTML + PNG.

    python -m pm_monitor.report <recording folder, .mcap file or demo output dir> --out DIR
"""
