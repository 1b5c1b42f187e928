"""procedures of dwlab (see DESIGN.md)."""
