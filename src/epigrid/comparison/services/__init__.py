"""Writes of comparison, one module per concern: list imports (upload, mapping, processing, correction),
linkage (rows to persons: exact, remembered, probabilistic, clerical review, provisional persons), the
key-region archive (arrivals and their health-code facts) and comparisons (rules, runs, action lists)."""
