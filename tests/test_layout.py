"""The project's shape: the core imports no chat SDK; deployment files and docs stay true to the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAT_SDKS = ("slack_bolt", "slack_sdk", "telegram")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_chat_sdk():
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & set(CHAT_SDKS))
                 for folder in ("storage", "escalation") for p in (ROOT / folder).rglob("*.py")}
    assert {path: sdks for path, sdks in offenders.items() if sdks} == {}


def test_docker_compose_runs_tocsin_on_postgres_15_with_health_check_and_volume():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    postgres, tocsin = compose["services"]["postgres"], compose["services"]["tocsin"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert tocsin["depends_on"]["postgres"]["condition"] == "service_healthy"
    url = tocsin["environment"]["TOCSIN_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert "healthz" in " ".join(tocsin["healthcheck"]["test"])


def test_every_environment_variable_is_documented():
    read = set(re.findall(r'get\("([A-Z][A-Z0-9_]+)"\)', (ROOT / "bot" / "settings.py").read_text()))
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md").read_text(), re.M))
    assert read, "settings.py reads no variables?"
    assert read - documented == set(), "undocumented"
    assert documented - read == set(), "documented but never read"
