"""Tocsin's edges: chat listeners, renderers, notifiers, the HTTP app, the CLI and the wiring."""
