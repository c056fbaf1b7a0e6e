"""Writes of the command center, one module per concern: alarms, instructions, video (cameras and
consultations), drills."""
