"""A process component that runs one task, ``_run``, from ``start`` until ``stop`` (a pruner, a sweeper,
a listener, a dispatcher): the lifecycle written once."""

from __future__ import annotations

import asyncio
import contextlib


class Background:
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        raise NotImplementedError
