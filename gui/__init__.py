"""gui of dwlab (see DESIGN.md)."""
