"""instruments of dwlab (see DESIGN.md)."""
