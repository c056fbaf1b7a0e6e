"""Writes of supplies, one module per concern: the catalogue (items, holding points, batches, reorder rules),
the stock ledger (receive, consume, adjust, write off, count, reconcile), transfers between points and the
hourly shortage announcement."""
