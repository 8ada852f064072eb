"""The config file's template keys (``preset:``, ``mapping:``, ``example:``, ``message:``), checked as they load.

Every template is compiled (syntax, unknown filters, private names refused) and rendered against an
example payload (the integration's ``example:``, else its preset's sample), so ``tocsin config check``
reports a template that would fail at ingest before any sender meets it, naming the key:
``integrations[2].mapping.title: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config_file import ConfigError
from bot.webhooks.mapped import FIELDS, TEXT_FIELDS, effective, parse_mapped
from bot.webhooks.messages import SAMPLE, SAMPLE_PAYLOAD, render_summary, render_title
from bot.webhooks.presets import PRESETS
from bot.webhooks.shape import ShapeError
from bot.webhooks.templates import TemplateFailure, compile_template
from storage.ingest import Delivery


def _failure(path: str, exc: TemplateFailure | ShapeError) -> ConfigError:
    return ConfigError(f"{path}.{exc}")


def _template(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: expected a template (text such as \"{{{{ payload.title }}}}\")")
    try:
        compile_template(value, path)
    except TemplateFailure as exc:
        raise ConfigError(str(exc)) from None
    return value


def mapping(raw: Mapping[str, Any], path: str, kind: str | None) -> tuple[str | None, dict[str, Any], Any]:
    """``preset``, ``mapping`` (each template compiled) and ``example``, or a ConfigError naming the key."""
    preset, own, example = raw.get("preset"), raw.get("mapping"), raw.get("example")
    if preset is None and own is None:
        if example is not None and raw.get("message") is None:
            raise ConfigError(f"{path}.example: only means something with a preset, a mapping or a message")
        return None, {}, example
    if kind != "generic":
        key = "preset" if preset is not None else "mapping"
        raise ConfigError(f"{path}.{key}: only an integration of type generic reads its body through templates "
                          f"(this one is {kind})")
    if preset is not None and (not isinstance(preset, str) or preset not in PRESETS):
        raise ConfigError(f"{path}.preset: {preset!r} is not one of {', '.join(PRESETS)}")
    checked = _mapping(own or {}, f"{path}.mapping")
    if preset is None and "title" not in checked:
        raise ConfigError(f"{path}.mapping.title: required (a template for the alert's title), or set a preset")
    if example is not None and not isinstance(example, dict | list):
        raise ConfigError(f"{path}.example: expected a JSON object as the sender posts it")
    payload = PRESETS[preset].example if example is None and preset else example
    if payload is not None:
        try:
            parse_mapped(payload, effective(preset, checked))
        except (TemplateFailure, ShapeError) as exc:
            raise _failure(path, exc) from None
    return preset, checked, example


def _mapping(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of field to template ({', '.join(FIELDS)})")
    checked: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in FIELDS:
            raise ConfigError(f"{path}.{key}: unknown key (allowed: {', '.join(FIELDS)})")
        if key == "links":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}.links: expected a mapping of link text to URL template")
            checked["links"] = {str(text): _template(url, f"{path}.links.{text}") for text, url in value.items()}
        else:
            assert key in TEXT_FIELDS
            checked[key] = _template(value, f"{path}.{key}")
    return checked


def sample(preset: str | None, own: Mapping[str, Any], example: Any) -> tuple[Delivery, Any] | None:
    """The delivery and payload a message template is checked against: the example read through the mapping
    (None: the built-in sample alert, with the example as its payload if there is one)."""
    payload = PRESETS[preset].example if example is None and preset else example
    if payload is None:
        return None
    return (parse_mapped(payload, effective(preset, own)) if preset or own else SAMPLE), payload


def message(raw: Any, path: str, sampled: tuple[Delivery, Any] | None) -> tuple[str | None, str | None]:
    """``message: {title, summary}``: each compiled, and rendered against ``delivery`` (or a sample alert)."""
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with title and/or summary")
    unknown = set(raw) - {"title", "summary"}
    if unknown:
        raise ConfigError(f"{path}.{sorted(unknown)[0]}: unknown key (allowed: summary, title)")
    title = _template(raw["title"], f"{path}.title") if "title" in raw else None
    summary = _template(raw["summary"], f"{path}.summary") if "summary" in raw else None
    checked, payload = sampled or (SAMPLE, SAMPLE_PAYLOAD)
    try:
        if title:
            render_title(title, checked, payload, "Sample title", f"{path}.title")
        if summary:
            render_summary(summary, checked, checked.alerts[0], payload, f"{path}.summary")
    except TemplateFailure as exc:
        raise ConfigError(str(exc)) from None
    return title, summary
