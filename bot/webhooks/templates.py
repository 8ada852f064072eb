"""Templates over a sender's JSON: Jinja2 in a sandbox where only the payload can be read.

Mapping templates (``mapping:``, ``preset:``) turn any JSON into an alert; message templates
(``message:``) word an incident's title and summary. Both run on every delivery, so a template is held
to limits a sender's payload cannot lift: only a mapping's keys and a list's items can be read (no
attribute of any Python object, so ``''.__class__`` is refused), ``range`` stops at 1000, text stops at
10,000 characters, numbers at 4096 bits, and a render stops after a quarter of a second of wall clock
(template code is traced line by line against the deadline, so a loop that never ends is stopped).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

MAX_RANGE = 1000
MAX_OUTPUT = 10_000
MAX_BITS = 4096
TIME_LIMIT = 0.25  # seconds of wall clock per render
FILENAME = "<tocsin template>"

#: The filters a template may use: text and list shaping whose output is bounded by its input. Left out:
#: those that pad or repeat (center, indent, wordwrap, format), random, and the pretty-printers.
FILTERS = ("abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "int",
           "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
           "replace", "reverse", "round", "select", "selectattr", "sort", "string", "striptags", "sum", "title",
           "tojson", "trim", "truncate", "unique", "upper", "urlencode", "wordcount")
DICT_METHODS = ("items", "keys", "values", "get")


class TemplateFailure(ValueError):
    """A template that cannot be compiled or did not render; ``field`` names it (``mapping.title``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class _Deadline:
    """The wall-clock limit of one render, checked on every line of template code."""

    def __init__(self, limit: float) -> None:
        self.until = time.monotonic() + limit

    def check(self) -> None:
        if time.monotonic() > self.until:
            raise SecurityError(f"stopped after {TIME_LIMIT:g} s (a loop too long, or one that never ends)")

    def trace(self, frame: Any, event: str, arg: Any) -> Any:
        return self.line if frame.f_code.co_filename == FILENAME else None

    def line(self, frame: Any, event: str, arg: Any) -> Any:
        self.check()
        return self.line


def _bounded(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT:
        raise SecurityError(f"a value over {MAX_OUTPUT} characters or items")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise SecurityError(f"a number over {MAX_BITS} bits")
    return value


def _size(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) and not isinstance(value, bool) else 1


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} numbers")
    return numbers


def _join(values: Any) -> str:
    return _bounded("".join(values))


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """``| replace``, its result's size checked before it is built (``replace('', long)`` multiplies)."""
    text, old, new = str(value), str(old), str(new)
    found = text.count(old) if count is None else min(max(count, 0), text.count(old))
    if len(text) + found * (len(new) - len(old)) > MAX_OUTPUT:
        raise SecurityError(f"a value over {MAX_OUTPUT} characters or items")
    return text.replace(old, new, -1 if count is None else max(count, 0))


def _join_filter(value: Any, d: Any = "", attribute: Any = None) -> str:
    """``| join``, its result's size checked before it is built (a long separator multiplies)."""
    items = [str(SANDBOX.getitem(v, attribute) if attribute is not None else v) for v in value][:MAX_OUTPUT + 1]
    separator = str(d)
    if sum(map(len, items)) + len(separator) * max(len(items) - 1, 0) > MAX_OUTPUT:
        raise SecurityError(f"a value over {MAX_OUTPUT} characters or items")
    return separator.join(items)


def _split(value: Any, separator: str | None = None) -> list[str]:
    """``"a,b" | split(",")``: a str method, as a filter (templates may not call methods on text)."""
    return [] if isinstance(value, Undefined) or value is None else str(value).split(separator)[:MAX_RANGE]


def _tag(value: Any, name: str) -> str:
    """The value of tag ``name`` in ``"team:payments,env:prod"`` (Datadog) or ``["team:payments"]``, in
    ``[["team", "payments"]]`` (Sentry), or in ``[{"tag"|"name": "team", "value": "payments"}]`` (Zabbix,
    Uptime Kuma): the empty string when there is none."""
    items = value.replace(" ", ",").split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    for item in items:
        if isinstance(item, list | tuple) and len(item) == 2 and str(item[0]) == name:
            return str(item[1])
        if isinstance(item, dict) and str(item.get("tag", item.get("name"))) == name:
            return str(item.get("value") or "")
        if isinstance(item, str) and item.partition(":")[0].strip() == name and ":" in item:
            return item.partition(":")[2].strip()
    return ""


class Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, narrowed to reading JSON: mappings by key, lists by index, nothing else."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)
        self.filters = {name: self.filters[name] for name in FILTERS}
        self.filters.update(split=_split, tag=_tag, replace=_replace, join=_join_filter)
        self.globals = {"range": _range, "dict": dict}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            if attribute in obj:
                return obj[attribute]
            if attribute in DICT_METHODS:
                return getattr(obj, attribute)
            return self.undefined(obj=obj, name=attribute)
        if obj is None or isinstance(obj, Undefined):  # JSON null reads as missing, all the way down
            return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, LoopContext) and not attribute.startswith("_"):  # loop.index, loop.first
            return super().getattr(obj, attribute)
        raise SecurityError(f"{attribute!r} is not a field of the payload (only JSON objects have fields; "
                            "for text use a filter, e.g. | upper, | split(','))")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if obj is None or isinstance(obj, Undefined):
            return self.undefined(obj=obj, name=argument)
        if isinstance(obj, Mapping | Sequence):
            try:
                return obj[argument]
            except (KeyError, IndexError, TypeError):
                return self.undefined(obj=obj, name=argument)
        raise SecurityError(f"[{argument!r}]: only JSON objects and lists can be indexed")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("text % values is not allowed (join with ~ instead)")
        if operator == "*" and isinstance(left, str | list) != isinstance(right, str | list):
            times = right if isinstance(left, str | list) else left
            length = len(left) if isinstance(left, str | list) else len(right)
            if isinstance(times, int) and times * length > MAX_OUTPUT:
                raise SecurityError(f"a value over {MAX_OUTPUT} characters or items")
        if operator == "*" and _size(left) + _size(right) > MAX_BITS:
            raise SecurityError(f"a number over {MAX_BITS} bits")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and right > 0 and _size(left) * right > MAX_BITS:
            raise SecurityError(f"a number over {MAX_BITS} bits")
        return _bounded(super().call_binop(context, operator, left, right))


SANDBOX = Sandbox()


def _static_check(tree: nodes.Template) -> str | None:
    """Why a template is refused before it ever runs: it names a private attribute (``__class__``)."""
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        name = node.attr if isinstance(node, nodes.Getattr) else node.name
        if name.startswith("_"):
            return f"{name!r} is refused: templates read the payload's fields only, never private attributes"
    return None


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    tree = SANDBOX.parse(source)
    refused = _static_check(tree)
    if refused:
        raise SecurityError(refused)
    code = SANDBOX.compile(tree, filename=FILENAME)
    template = SANDBOX.template_class.from_code(SANDBOX, code, SANDBOX.make_globals(None), None)
    template.root_render_func.__globals__["str_join"] = _join  # ``a ~ b`` is bounded too
    return template


def compile_template(source: str, field: str) -> Any:
    """The compiled template, or a TemplateFailure naming ``field`` (syntax, unknown filter, refused name)."""
    try:
        return _compiled(source)
    except TemplateError as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise TemplateFailure(field, f"{exc.message or type(exc).__name__}{line}") from None


def render(source: str, context: Mapping[str, Any], field: str) -> str:
    """``source`` rendered with ``context``, stripped; every failure is a TemplateFailure naming ``field``."""
    template = compile_template(source, field)
    deadline = _Deadline(TIME_LIMIT)
    previous = sys.gettrace()
    sys.settrace(deadline.trace)
    try:
        size, parts = 0, []
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise SecurityError(f"the output is over {MAX_OUTPUT} characters")
            parts.append(chunk)
    except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError, MemoryError) as exc:
        problem = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc) or type(exc).__name__
        raise TemplateFailure(field, problem[:300]) from None
    finally:
        sys.settrace(previous)
    return "".join(parts).strip()
