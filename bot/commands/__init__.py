"""The platform-neutral command layer: one grammar, one executor, neutral replies."""
