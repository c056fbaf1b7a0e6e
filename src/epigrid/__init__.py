"""EpiGrid: epidemic prevention and control for a city district as one closed loop."""
