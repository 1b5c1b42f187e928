"""instruments/sim of dwlab (see docs/design.md)."""
