"""Any JSON sender, through a mapping: templates over the payload that pick each field of the alert.

A generic integration with ``preset:`` or ``mapping:`` reads its body this way instead of the generic
shape. Each template sees ``payload`` (the decoded body) and renders text:

- ``status``: firing or resolved (also trigger/resolve and the words senders use: problem, recovered, ok...);
  empty means firing
- ``title`` (required to fire), ``summary``, ``description``, ``severity`` (any of our severity words),
  ``team``, ``service``, ``dedup_key`` (required to resolve: the same for an alert's firing and resolve)
- ``links``: link text -> URL template (an empty URL leaves the link out)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.webhooks.presets import PRESETS
from bot.webhooks.shape import ShapeError, clean, document
from bot.webhooks.templates import TemplateFailure, compile_template, render
from storage.ingest import AlertIn, Delivery, bounded, digest

TEXT_FIELDS = ("status", "title", "summary", "description", "severity", "team", "service", "dedup_key")
FIELDS = (*TEXT_FIELDS, "links")
FIRING = {"firing": True, "trigger": True, "triggered": True, "problem": True, "alert": True, "alerting": True,
          "down": True, "open": True, "activated": True, "created": True, "critical": True, "warning": True,
          "resolved": False, "resolve": False, "recovered": False, "recovery": False, "ok": False, "up": False,
          "closed": False, "close": False, "normal": False}


def effective(preset: str | None, mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The preset's templates with the integration's own ``mapping:`` over them (``links`` merged too)."""
    merged: dict[str, Any] = dict(PRESETS[preset].mapping) if preset else {}
    for key, value in mapping.items():
        if key == "links" and isinstance(value, Mapping):
            merged["links"] = {**merged.get("links", {}), **value}
        else:
            merged[key] = value
    return merged


def check(mapping: Mapping[str, Any], path: str) -> None:
    """Compile every template (syntax, unknown filters, refused names); errors name ``path.key``."""
    for key, source in mapping.items():
        if key == "links":
            for text, url in source.items():
                compile_template(url, f"{path}.links.{text}")
        else:
            compile_template(source, f"{path}.{key}")


def _field(mapping: Mapping[str, Any], key: str, context: Mapping[str, Any], limit: int = 500) -> str | None:
    source = mapping.get(key)
    if not source:
        return None
    return clean(render(source, context, f"mapping.{key}"), limit) or None


def parse_mapped(payload: Any, mapping: Mapping[str, Any]) -> Delivery:
    """A Delivery (one alert) from any JSON, as ``mapping`` reads it; TemplateFailure/ShapeError otherwise."""
    context = {"payload": payload}
    word = (_field(mapping, "status", context) or "firing").lower()
    if word not in FIRING:
        raise ShapeError("mapping.status", f"rendered {word[:40]!r}; it must render firing or resolved")
    firing = FIRING[word]
    key = _field(mapping, "dedup_key", context, 255)
    if not firing and not key:
        raise ShapeError("mapping.dedup_key", "rendered empty, and a resolve needs it to find its alert")
    title = _field(mapping, "title", context)
    if firing and not title:
        raise ShapeError("mapping.title", "rendered empty; an alert that fires needs a title")
    labels = {name: value for name in ("service", "team", "severity")
              if (value := _field(mapping, name, context, 200))}
    annotations: dict[str, Any] = {}
    summary, description = _field(mapping, "summary", context, 2000), _field(mapping, "description", context, 5000)
    if summary or title:
        annotations["summary"] = summary or title
    if description:
        annotations["description"] = description
    links = [{"text": clean(text, 200), "href": href} for text, source in (mapping.get("links") or {}).items()
             if (href := clean(render(source, context, f"mapping.links.{text}"), 2000))]
    if links:
        annotations["links"] = links
    fingerprint = bounded(key, 128) if key else digest("mapped", document(payload))  # storable text only
    # the first link is the alert's source (as the generic webhook's); all of them stay in the annotations
    return Delivery(alerts=(AlertIn(fingerprint=fingerprint, firing=firing, labels=labels, annotations=annotations,
                                    generator_url=links[0]["href"] if links else None),),
                    group_key=f"key={fingerprint}", title=title)


__all__ = ["FIELDS", "TEXT_FIELDS", "TemplateFailure", "check", "effective", "parse_mapped"]
