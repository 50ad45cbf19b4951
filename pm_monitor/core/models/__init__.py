"""The first model set of pm_monitor: small torch modules and numpy estimators, no training."""
