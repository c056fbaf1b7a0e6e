"""Periodic jobs (registered with core.periodic)."""
