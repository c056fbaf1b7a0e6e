"""Background jobs of comparison: processing uploaded lists, and the comparisons that run on a schedule."""
