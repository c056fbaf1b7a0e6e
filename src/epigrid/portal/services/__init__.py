"""Writes of the resident portal: one-time-code login (``login``) and correction requests (``corrections``)."""
