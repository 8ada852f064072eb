"""The ingestion core is platform-neutral: no web framework, HTTP client or chat SDK in storage/ingest/."""

from __future__ import annotations

from pathlib import Path

from tests.test_layout import _imports

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"starlette", "uvicorn", "httpx", "aiohttp", "prometheus_client", "slack_bolt", "slack_sdk", "telegram",
             "bot"}


def test_ingest_imports_no_web_framework_or_chat_sdk():
    modules = sorted((ROOT / "storage" / "ingest").glob("*.py"))
    assert len(modules) >= 2
    for module in modules:
        assert _imports(module) & FORBIDDEN == set(), module.name
