"""The real-data model set's own pieces (FEMTO Stage 1, frame preprocessing, the microphone
ring and score, the models' loading and the explainer's layout); assembled by
pm_monitor.core.model_set.real_data."""
