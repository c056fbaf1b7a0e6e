"""Pages of the command center: the map page, alarm actions, cameras and consultations."""
