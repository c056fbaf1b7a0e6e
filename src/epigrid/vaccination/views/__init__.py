"""Pages of vaccination, one module per audience: the vaccinator's desk, self-report review, the catalogue
and sites (manage), coverage and overdue lists (progress), and the resident's pages."""
