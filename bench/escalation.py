"""Escalation lateness under load: N pending steps due over a window, claimed by P processes.

    .venv/bin/python bench/escalation.py --server postgresql://postgres@127.0.0.1:5432/postgres \\
        --steps 10000 --processes 2 --window 60

Creates a throwaway database, writes N open incidents with one PENDING ledger step each (due times
spread evenly over the window, starting --lead seconds from now), starts P worker processes that run
the real timer, step job and dispatcher (paging a team lead through a sender that only counts), waits
until every step ran and every page was sent, then reports lateness (executed_at - due_at) p50/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import migrations  # noqa: E402
from storage.db import sync_url  # noqa: E402
from storage.models import ChatBinding, EscalationPolicy, EscalationStep, Incident, Membership, Person, Team  # noqa: E402


def seed(url: str, steps: int, lead: float, window: float) -> datetime:
    """Team, two leads, the policy, N incidents and their ledger rows; returns the first due time."""
    engine = create_engine(sync_url(url))
    now = datetime.now(UTC)
    first = now + timedelta(seconds=lead)
    with engine.begin() as conn:
        team_id = conn.execute(insert(Team).values(name="bench", escalation_policy="bench",
                                                   created_at=now).returning(Team.id)).scalar_one()
        conn.execute(insert(ChatBinding).values(team_id=team_id, platform="slack", chat="CBENCH"))
        for i in range(2):
            pid = conn.execute(insert(Person).values(name=f"Lead {i}", email=f"lead{i}@example.com", created_at=now)
                               .returning(Person.id)).scalar_one()
            conn.execute(insert(Membership).values(person_id=pid, team_id=team_id, role="team_lead"))
        conn.execute(insert(EscalationPolicy).values(name="bench", position=0, match={}, repeat=0, updated_at=now,
                                                     steps={"steps": [{"after": 0, "notify": ["role:team_lead"],
                                                                       "channels": ["webhook"]}]}))
        conn.execute(insert(Incident), [
            dict(number=n, title=f"Bench {n}", status="open", severity="high", team_id=team_id, labels={},
                 source="bench", created_at=now, updated_at=now, escalation_policy="bench", escalation_level=0,
                 truncated_alerts=0)
            for n in range(1, steps + 1)])
        ids = dict(conn.execute(text("SELECT number, id FROM incident")).all())
        conn.execute(text(f"SELECT setval('incident_number_seq', {steps})"))
        spacing = window / max(1, steps - 1)
        conn.execute(insert(EscalationStep), [
            dict(incident_id=ids[n], policy="bench", repeat=0, step=0,
                 scheduled_at=first + timedelta(seconds=(n - 1) * spacing),
                 due_at=first + timedelta(seconds=(n - 1) * spacing), status="PENDING", created_at=now)
            for n in range(1, steps + 1)])
    engine.dispose()
    return first


class CountingSender:
    """Delivers instantly and counts: the bench measures the engine, not a chat platform."""

    channel = "webhook"

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, destination, page):
        from storage.ports import Delivery

        self.sent += 1
        return Delivery(f"bench-{page.key}")


async def worker(url: str) -> None:
    """One Tocsin process: the real timer, step job and dispatcher, until nothing is left to do."""
    from bot import bootstrap
    from bot.config_file import TocsinConfig
    from bot.settings import Settings

    container = bootstrap.build(Settings(database_url=url), TocsinConfig(), parts=bootstrap.Parts(escalation="scheduler"),
                                senders={"webhook": CountingSender()})
    built = container.paging
    await built.timer.start()
    await built.dispatcher.start()
    try:
        while True:
            await asyncio.sleep(1)
            async with container.db.sessions() as session:
                left = await session.scalar(text(
                    "SELECT (SELECT count(*) FROM escalation_step WHERE status = 'PENDING') + "
                    "(SELECT count(*) FROM notification WHERE status = 'PENDING')"))
            if not left:
                break
    finally:
        await built.timer.stop()
        await built.dispatcher.stop()
        await container.close()


def report(url: str, args: argparse.Namespace, wall: float) -> str:
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        timed = conn.execute("SELECT due_at, extract(epoch FROM executed_at - due_at)::float FROM escalation_step "
                             "WHERE status = 'EXECUTED' ORDER BY due_at").fetchall()
        late = sorted(r[1] for r in timed)
        statuses = dict(conn.execute("SELECT status, count(*) FROM escalation_step GROUP BY status").fetchall())
        by = conn.execute("SELECT executed_by, count(*) FROM escalation_step GROUP BY executed_by").fetchall()
        sent = conn.execute("SELECT count(*), count(DISTINCT (incident_id, reason, target, channel)) "
                            "FROM notification WHERE status = 'SENT'").fetchone()
    p = statistics.quantiles(late, n=100, method="inclusive")
    lines = [
        f"steps {args.steps} over {args.window:.0f}s, {args.processes} processes, wall {wall:.1f}s",
        f"statuses {statuses}",
        f"lateness p50 {p[49]:.3f}s  p99 {p[98]:.3f}s  max {late[-1]:.3f}s  (min {late[0]:.3f}s)",
        "steps per process: " + ", ".join(str(n) for _, n in sorted(by, key=lambda r: str(r[0]))),
        f"notifications sent {sent[0]} (distinct {sent[1]})",
        "max lateness per tenth of the window: " + " ".join(
            f"{max(r[1] for r in timed[i * len(timed) // 10:(i + 1) * len(timed) // 10]):.2f}" for i in range(10)),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL where a throwaway database may be created")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the steps come due")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds before the first step is due")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker))
        return 0
    name = f"tocsin_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(args.server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        seed(url, args.steps, args.lead, args.window)
        started = time.monotonic()
        env = {**os.environ, "TOCSIN_LOG_LEVEL": "WARNING"}
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", url], env=env, cwd=ROOT)
                 for _ in range(args.processes)]
        for proc in procs:
            proc.wait()
        print(report(url, args, time.monotonic() - started))
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
