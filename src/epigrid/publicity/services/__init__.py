"""Writes of the publicity app: announcements (``announcements``), the FAQ and hotline tickets beside it."""
