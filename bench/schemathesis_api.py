"""Schemathesis against the served OpenAPI document of a real sidecar process, with every check.

The sidecar runs on a fresh database with the tests' config (teams, people, integrations, tokens) and a
few incidents; Schemathesis (``st run``, all phases, positive and negative data, deterministic per seed)
calls every operation with the admin API token, the webhooks with their integrations' tokens. Exit 0 only
when no check fails; the sidecar's own /metrics counts what it answered, 5xx included.

    .venv/bin/python bench/schemathesis_api.py [--max-examples 100] [--seed 1] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.sidecar_run import answered, database, server_errors, sidecar  # noqa: E402
from tests.webhooks.support import (  # noqa: E402
    AM_TOKEN,
    API_TOKENS,
    ELASTIC_TOKEN,
    GENERIC_TOKEN,
    fixture,
    fixture_names,
)

WEBHOOK_TOKENS = {"/webhooks/alertmanager": AM_TOKEN, "/webhooks/elastic": ELASTIC_TOKEN,
                  "/webhooks/generic": GENERIC_TOKEN}


def config_toml(max_examples: int, seed: int) -> str:
    """Schemathesis' config: the API token for the API, each webhook's own token for its route."""
    lines = [f"seed = {seed}", "[generation]", f"max-examples = {max_examples}", "deterministic = true",
             'database = "none"',
             "[auth.openapi.apiToken]", f'bearer = "{API_TOKENS["admin"]}"']
    for path, token in WEBHOOK_TOKENS.items():
        lines += ["[[operations]]", f'include-path = "{path}"', f'headers = {{ Authorization = "Bearer {token}" }}']
    # from must be before to, and at most 366 days: a rule across two parameters that no schema states, so a
    # schema-valid pair can rightly be 400 there.
    # Likewise a maintenance window: end or duration (exactly one), after start, still to come, at most 14 days.
    for path in ("/api/oncall/fairness", "/api/maintenance"):
        lines += ["[[operations]]", f'include-path = "{path}"',
                  'checks = { positive_data_acceptance = { expected-statuses = ["2xx", "400", "401", "403", "404"] } }']
    return "\n".join(lines) + "\n"


def seed_incidents(base: str) -> None:
    """Incidents #1.. from the Alertmanager fixtures and one declared by API, so numbered routes find some."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for name in fixture_names():
            http.post("/webhooks/alertmanager", json=fixture(name), headers={"Authorization": f"Bearer {AM_TOKEN}"})
        http.post("/api/incidents", json={"title": "Checkout 500s", "team": "payments"},
                  headers={"Authorization": f"Bearer {API_TOKENS['admin']}"})


def run(base: str, max_examples: int, seed: int, report: Path, phases: str, workers: int) -> int:
    """``st run`` against the served document; its exit code."""
    config = report / "schemathesis.toml"
    config.write_text(config_toml(max_examples, seed))
    command = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
               f"{base}/api/openapi.json", "--checks", "all", "--mode", "all", "--workers", str(workers),
               "--phases", phases, "--report", "ndjson", "--report-dir", str(report), "--no-color"]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=report).returncode  # its caches go to the temporary folder too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    with database(args.postgres) as url, sidecar(url) as base, tempfile.TemporaryDirectory() as folder:
        seed_incidents(base)
        before = answered(base)
        started = time.perf_counter()
        code = run(base, args.max_examples, args.seed, Path(folder), args.phases, args.workers)
        elapsed = time.perf_counter() - started
        after = answered(base)
    served = {s: after.get(s, 0) - before.get(s, 0) for s in after if after.get(s, 0) - before.get(s, 0)}
    print(json.dumps({"database": "PostgreSQL" if args.postgres else "SQLite", "seed": args.seed,
                      "max_examples": args.max_examples, "seconds": round(elapsed, 1),
                      "requests": sum(served.values()), "statuses": served, "5xx": server_errors(served),
                      "schemathesis_exit": code}))
    return 1 if code or server_errors(served) else 0


if __name__ == "__main__":
    raise SystemExit(main())
