"""Pages of what happens inside a match, one module per record."""
