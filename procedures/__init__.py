"""procedures of dwlab (see docs/design.md)."""
