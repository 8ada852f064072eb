"""What the core needs to know of the console: its name (actors' source, the account a sign-in links)."""

from __future__ import annotations

NAME = "console"
