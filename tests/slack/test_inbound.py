"""A failed Slack lazy listener is kept (dead), counted on /metrics, listed by ``tocsin inbound list`` and,
once replayed, run again by the serving process."""

from __future__ import annotations

from storage import inbound
from tests.telegram.test_inbound import metrics, tocsin


def break_the_next_connection(container) -> None:
    """The next database connection fails as if the server were down; later ones work."""
    pool = container.db.engine.sync_engine.pool
    real, failed = pool._creator, []

    def flaky(*args):
        if not failed:
            failed.append(True)
            raise OSError("db down")
        return real(*args)
    pool._creator = flaky


async def test_a_failed_command_is_kept_counted_listed_and_replayed(slack, people, container, db_url):
    await container.db.dispose()
    break_the_next_connection(container)
    [answer] = await slack.command("show 1")
    assert "could not finish" in answer["text"]

    [row] = await inbound.listing(container.db)
    assert (row.platform, row.status, row.attempts) == ("slack", "dead", 1)
    assert row.payload["command"] == "/incident" and row.payload["text"] == "show 1" and "token" not in row.payload
    samples = await metrics(container)
    assert samples[("tocsin_inbound_failures_total", (("platform", "slack"),))] == 1
    assert samples[("tocsin_inbound_deliveries", (("platform", "slack"), ("status", "dead")))] == 1
    listed = tocsin(db_url, "inbound", "list")
    assert f"#{row.id}" in listed.stdout and "slack" in listed.stdout and "command /incident 'show 1'" in listed.stdout

    assert "1 delivery replayed" in tocsin(db_url, "inbound", "replay", "--all").stdout
    assert await container.slack_replays.run_due() == 1
    await slack.settle()
    assert "There is no incident #1" in str(slack.fake.responses[-1].body)
    assert [r.status for r in await inbound.listing(container.db, inbound.INBOUND_STATUSES)] == ["done"]

