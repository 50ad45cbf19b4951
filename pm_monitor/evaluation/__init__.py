"""Offline evaluations (depend on core, never the reverse)."""
