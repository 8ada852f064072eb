"""The terminal itself: GNU readline (the stdlib ``readline`` module) for line editing, history and Tab
completion, and printing that never garbles the line being typed.

readline only edits in a blocking ``input()``, so each line is read in a daemon thread while the event
loop prints cards and pages; a print clears the prompt line, writes above it, and redraws the prompt with
what was typed so far (the convention of Hubot's shell adapter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

try:
    import readline
except ImportError:  # a Python built without it: plain input(), still usable
    readline = None  # type: ignore[assignment]

HISTORY_LENGTH = 1000
CLEAR_LINE = "\r\x1b[K"


def history_file() -> Path:
    """Where typed lines are kept between sessions."""
    return Path.home() / ".tocsin_shell_history"


class Terminal:
    """A ``Sink`` on the process's stdin and stdout."""

    def __init__(self, prompt: str = "tocsin> ", out: TextIO = sys.stdout) -> None:
        self.prompt, self.out = prompt, out
        self._lock = threading.Lock()
        self._editing = False  # readline shows the prompt and is reading a line
        self.interactive = sys.stdin.isatty() and out.isatty() and readline is not None

    async def show(self, text: str, *, kind: str = "reply") -> None:
        self.write(text)

    def write(self, text: str) -> None:
        """Print ``text`` on lines of its own, above the prompt and the line being typed if any."""
        with self._lock:
            if self._editing:
                self.out.write(f"{CLEAR_LINE}{text}\n{self.prompt}{readline.get_line_buffer()}")
            else:
                self.out.write(f"{text}\n")
            self.out.flush()

    async def read_line(self) -> str | None:
        """The next line typed, None at end of input (Ctrl-D)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def deliver(line: str | None) -> None:
            if not done.done():
                done.set_result(line)

        def read() -> None:
            try:
                line: str | None = input(self.prompt)
            except (EOFError, OSError, ValueError):  # ValueError: stdin was closed under us
                line = None
            finally:
                with self._lock:
                    self._editing = False
            loop.call_soon_threadsafe(deliver, line)

        threading.Thread(target=read, name="tocsin-shell-input", daemon=True).start()
        return await done

    def _started_editing(self) -> None:
        with self._lock:
            self._editing = True

    @contextlib.contextmanager
    def session(self, words: Iterable[str]) -> Iterator[None]:
        """Line editing for the session: history loaded and saved, Tab completing ``words``, and the
        terminal's settings restored on the way out, even when a read was cut off (Ctrl-C)."""
        if not self.interactive:
            yield
            return
        import termios

        saved = termios.tcgetattr(sys.stdin.fileno())
        path = history_file()
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_pre_input_hook(self._started_editing)
        readline.set_completer(_completer(sorted(words)))
        readline.parse_and_bind("tab: complete")
        try:
            yield
        finally:
            readline.set_pre_input_hook(None)
            with contextlib.suppress(OSError):
                readline.write_history_file(path)
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
            self.out.write("\n")
            self.out.flush()


def _completer(words: list[str]):
    def complete(text: str, state: int) -> str | None:
        matches = [w for w in words if w.startswith(text)]
        return matches[state] if state < len(matches) else None
    return complete


class TerminalLog(logging.Handler):
    """Log records printed like cards, above the line being typed."""

    def __init__(self, terminal: Terminal, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.terminal.write(f"[{record.levelname.lower()}] {self.format(record)}")
        except Exception:
            self.handleError(record)
