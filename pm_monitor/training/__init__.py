"""Offline training of the model bundle (never imported by the live node)."""
