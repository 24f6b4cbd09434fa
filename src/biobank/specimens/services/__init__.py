"""Use cases of the specimens app, one module per concept."""
