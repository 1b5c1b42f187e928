"""instruments/sim of dwlab (see DESIGN.md)."""
