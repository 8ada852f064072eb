"""What the core needs to know of the shell: its name (actors' source, the account a sign-in links, the
paging channel). A page to the shell never leaves the database, so the shell declares no limits."""

from __future__ import annotations

NAME = "shell"
