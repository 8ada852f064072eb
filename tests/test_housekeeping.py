"""Inbound receipts older than the retention are pruned by tocsin serve; recent ones keep deduplicating."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import func, select

from bot import bootstrap
from bot.app import create_app
from bot.chat.receipts import Receipts
from bot.config_file import TocsinConfig
from bot.housekeeping import ReceiptPruner, prune_receipts
from storage.db import Database
from storage.models import InboundReceipt

DAY = timedelta(hours=24)


async def _count(db: Database) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboundReceipt))


async def test_receipts_older_than_the_retention_go_and_recent_ones_stay(container, clock):
    db = container.db
    assert await Receipts("telegram", db, clock).first("1001")
    assert await Receipts("slack", db, clock).first("event:EvOld")
    clock.advance(hours=23)
    assert await Receipts("telegram", db, clock).first("1002")
    assert await Receipts("slack", db, clock).first("event:EvRecent")
    clock.advance(hours=2)

    assert await ReceiptPruner(db, clock, DAY).prune() == 2

    assert not await Receipts("telegram", db, clock).first("1002"), "a recent Telegram update is still a repeat"
    assert not await Receipts("slack", db, clock).first("event:EvRecent"), "a recent Slack event is still a repeat"
    assert await Receipts("telegram", db, clock).first("1001"), "the old update was forgotten"
    assert await Receipts("slack", db, clock).first("event:EvOld"), "the old event was forgotten"


async def test_pruning_deletes_in_batches_until_none_are_old(container, clock):
    for n in range(25):
        await Receipts("telegram", container.db, clock).first(str(n))
    clock.advance(hours=25)
    await Receipts("telegram", container.db, clock).first("fresh")
    assert await prune_receipts(container.db, clock.now() - DAY, batch=10) == 25
    assert await _count(container.db) == 1


async def test_serve_prunes_at_start(container, clock):
    await Receipts("telegram", container.db, clock).first("old")
    clock.advance(hours=30)
    await Receipts("telegram", container.db, clock).first("new")
    serve = bootstrap.build(container.settings, TocsinConfig(), clock, parts=bootstrap.SERVE)  # chat is off: no tokens
    assert "housekeeping" in [s.name for s in serve.surfaces] and serve.housekeeping is not None
    app = create_app(serve, migrate=False)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if await _count(container.db) == 1:
                break
            await asyncio.sleep(0.02)
    assert await _count(container.db) == 1
    assert await Receipts("telegram", container.db, clock).first("old")


async def test_a_database_failure_is_logged_without_the_password_and_retried(clock, caplog):
    broken = Database("postgresql://tocsin:s3cret-pw@127.0.0.1:1/tocsin")
    pruner = ReceiptPruner(broken, clock, DAY, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="bot.housekeeping"):
        await pruner.start()
        for _ in range(200):
            if len(caplog.records) >= 2:
                break
            await asyncio.sleep(0.02)
        still_running = not pruner._task.done()
        await pruner.stop()
    await broken.dispose()
    assert still_running, "a failed prune must not end the component"
    assert len(caplog.records) >= 2, "it tries again"
    assert "pruning inbound receipts failed" in caplog.text and "s3cret-pw" not in caplog.text


async def test_two_processes_pruning_one_postgres_at_once_delete_each_receipt_once(pg_url, clock):
    first, second = Database(pg_url), Database(pg_url)  # two engines, as two serve processes have
    try:
        for n in range(300):
            await Receipts("telegram", first, clock).first(str(n))
        clock.advance(hours=25)
        deleted = await asyncio.gather(prune_receipts(first, clock.now() - DAY, batch=20),
                                       prune_receipts(second, clock.now() - DAY, batch=20))
        assert sum(deleted) == 300 and await _count(first) == 0
    finally:
        await first.dispose()
        await second.dispose()


async def test_processed_chat_deliveries_older_than_the_retention_go_and_failed_ones_stay(container, clock):
    from storage import inbound

    db = container.db
    done = await inbound.record(db, "telegram", "1", {"update_id": 1}, clock.now())
    await inbound.finish(db, done, clock.now())
    dead = await inbound.record_failed(db, "slack", "trigger:1", {"command": "/incident"}, "boom", clock.now())
    clock.advance(hours=25)
    recent = await inbound.record(db, "telegram", "2", {"update_id": 2}, clock.now())
    await inbound.finish(db, recent, clock.now())

    await ReceiptPruner(db, clock, DAY).prune()

    assert [r.id for r in await inbound.listing(db, inbound.INBOUND_STATUSES)] == [dead, recent]
