"""Tocsin's platform-neutral incident core: models, the incident service and its ports.

Nothing in this package imports a chat SDK; the surfaces in ``bot/`` call into it.
"""
