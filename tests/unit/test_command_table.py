"""The executor's command table is explicit: built in one place, agreeing with the grammar, free of import order."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

from bot.commands.grammar import USAGE, UsageError, help_text, parse

ROOT = Path(__file__).resolve().parents[2]
HANDLER_MODULES = ("incident_commands", "read_commands", "paging_commands", "account_commands")


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter at the repository root and return what it printed."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@cache
def _table_after(*imports: str) -> dict[str, str]:
    code = "".join(f"import {name}\n" for name in imports) + (
        "import json\nfrom bot.commands.execute import COMMANDS\n"
        "print(json.dumps({k: f'{v.__module__}.{v.__qualname__}' for k, v in COMMANDS.items()}))\n")
    return json.loads(_python(code))


def _help_verbs() -> set[str]:
    return {line.split()[0] for line in help_text().splitlines()[1:]}


def test_importing_the_executor_alone_knows_every_command_help_lists():
    assert set(_table_after()) == _help_verbs()


def test_every_grammar_verb_has_exactly_one_handler_and_nothing_else_does():
    table = _table_after()
    assert set(table) == set(USAGE)
    for verb in table:  # the grammar knows the verb: it parses, or it asks for that verb's arguments
        try:
            assert parse(verb).name == verb
        except UsageError as exc:
            assert exc.usage == f"/incident {USAGE[verb]}"


def test_the_table_does_not_depend_on_which_module_was_imported_first():
    handlers_first = _table_after(*(f"bot.commands.{name}" for name in reversed(HANDLER_MODULES)))
    assert handlers_first == _table_after()


def test_no_handler_module_imports_the_executor():
    loaded = _python("import sys\n" + "".join(f"import bot.commands.{name}\n" for name in HANDLER_MODULES)
                     + "print('bot.commands.execute' in sys.modules)\n")
    assert loaded.strip() == "False"
