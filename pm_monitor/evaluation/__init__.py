"""Scoring the monitor's output against ground truth (demo summaries, timelines)."""
