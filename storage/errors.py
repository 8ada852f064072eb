"""Errors the core raises; every surface turns them into a reply a person can act on."""

from __future__ import annotations


class TocsinError(Exception):
    """Base of the core's errors. ``str(error)`` is safe to show to the user."""

    status = 400


class NotFound(TocsinError):
    status = 404


class UnknownActor(TocsinError):
    """The chat identity is not linked to a person."""

    status = 403


class PermissionDenied(TocsinError):
    status = 403


class InvalidTransition(TocsinError):
    status = 409


class InvalidInput(TocsinError):
    status = 400


class DatabaseUnavailable(TocsinError):
    status = 503


class DatabaseTimeout(DatabaseUnavailable):
    """The database did not answer in time (a network that drops packets, a lock held too long)."""
