"""db of dwlab (see docs/design.md)."""
