"""Any machine, day one: every unit of the shared data judged by physics against its own
commissioning, with nothing but its asset description (no model trained on any unit).

    nice -n 10 python -m pm_monitor.evaluation.any_machine [--only femto,cwru,mimii,rig]

Writes results/any_machine/{summary.json, report.md, femto_timelines.png, cwru_types.png}.
Per-window results are cached under results/any_machine/cache (delete to recompute).

Global constants (health ratios 2/4/10, persistence 3, impulsive-kurtosis guard 5x, anomaly
threshold floor 3, diagnosis min SNR 3 / 2x reference / band kurtosis 0.5) were chosen on the
FEMTO learning bearings and CWRU load 0; the report gives those units separately. The
level- and crest-rise ratios (core/condition/health.py) were chosen on all 11 FEMTO bearings:
the FEMTO headline is leave-one-bearing-out (femto_eval.py).
"""
