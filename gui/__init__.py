"""gui of dwlab (see docs/design.md)."""
