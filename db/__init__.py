"""db of dwlab (see DESIGN.md)."""
