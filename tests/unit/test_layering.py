"""The core (storage/, escalation/) knows no chat platform: it imports nothing from bot/ and names none of
the platforms, in code, comments or docstrings. A platform is a string the bot layer passes in."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ("storage", "escalation")
PLATFORM_WORDS = re.compile(r"slack|telegram|shell", re.IGNORECASE)


def _core_files() -> list[Path]:
    files = sorted(p for folder in CORE for p in (ROOT / folder).rglob("*.py"))
    assert len(files) > 20  # the folders are where this test thinks they are
    return files


def _bot_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "bot"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "bot":
            found.append(node.module)
    return found


def test_the_core_imports_nothing_from_bot():
    offenders = {str(p.relative_to(ROOT)): _bot_imports(p) for p in _core_files()}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_core_names_no_chat_platform():
    offenders = {}
    for path in _core_files():
        lines = [f"{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
                 if PLATFORM_WORDS.search(line)]
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_the_check_sees_both_kinds_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import bot.pacing\nfrom bot.chat import cards\nfrom . import bot\nimport botany\n")
    assert _bot_imports(sample) == ["bot.pacing", "bot.chat"]
