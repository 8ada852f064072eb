"""Inbound deliveries already handled (an Events API retry or a double click must change nothing twice), and
card claims: ``bot.chat.claims`` with source "slack"."""

from __future__ import annotations

from functools import partial

from bot.chat import claims

SOURCE = "slack"

claim = partial(claims.claim, SOURCE)
release = partial(claims.release, SOURCE)
claimed_at = partial(claims.claimed_at, SOURCE)
take_over = partial(claims.take_over, SOURCE)
renew = partial(claims.renew, SOURCE)
