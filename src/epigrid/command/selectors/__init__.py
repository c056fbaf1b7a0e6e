"""Reads of the command center, scoped: alarms, instructions, the map layers, the situation panel, video."""
