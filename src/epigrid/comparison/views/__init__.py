"""Pages of comparison: lists (imports), the review queue, the key-region archive and dossier (archive),
comparison rules (rules), and the public arrival self-report (arrive)."""
