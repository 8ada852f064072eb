"""A recording fake of the outbound delivery port (the Sender protocol), not a mock of our code."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from storage.ports import Delivery, DeliveryError, Destination, Page


@dataclass
class Sent:
    destination: Destination
    page: Page
    reference: str
    at: float = field(default_factory=time.monotonic)  # when the send was asked for


class RecordingSender:
    """Keeps every page it is asked to send; ``fail_with`` queues errors for the next sends."""

    def __init__(self, channel: str, delay: float = 0.0) -> None:
        self.channel = channel
        self.sent: list[Sent] = []
        self.fail_with: list[DeliveryError] = []
        self.delay = delay
        self.attempts = 0
        self.gate: asyncio.Event | None = None  # when given, every send waits until it is set

    async def send(self, destination: Destination, page: Page) -> Delivery:
        self.attempts += 1
        asked = time.monotonic()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with:
            raise self.fail_with.pop(0)
        reference = f"{self.channel}-{len(self.sent) + 1}"
        self.sent.append(Sent(destination, page, reference, asked))
        return Delivery(reference, thread=destination.thread)

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.destination.address == address]


class CheckingRecordingSender(RecordingSender):
    """A platform that can tell whether a page with this key already arrived (like Slack's history)."""

    async def find(self, destination: Destination, page: Page) -> Delivery | None:
        for sent in self.sent:
            if sent.page.key == page.key and sent.destination.address == destination.address:
                return Delivery(sent.reference, destination.thread)
        return None
