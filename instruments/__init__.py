"""instruments of dwlab (see docs/design.md)."""
