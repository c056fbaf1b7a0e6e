"""Writes of vaccination, one module per concern: the catalogue (vaccines, batches, sites, slots, closures),
bookings, doses (recorded, self-reported, imported; AEFI) and follow-up (reminders, overdue tasks)."""
