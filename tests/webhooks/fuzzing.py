"""Mutated real webhook payloads, deterministic per seed: shared by the in-suite fuzz and bench/fuzz_webhooks.py."""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.webhooks.support import (
    AM_TOKEN,
    ELASTIC_TOKEN,
    GENERIC_TOKEN,
    GRAFANA_PASSWORD,
    GRAFANA_USER,
    bearer,
)

FIXTURES = Path(__file__).parent / "fixtures"
GRAFANA = {"Authorization": "Basic " + base64.b64encode(f"{GRAFANA_USER}:{GRAFANA_PASSWORD}".encode()).decode()}
#: Fixture folder -> (endpoint, headers). PagerDuty authenticates with the routing_key in the body.
SOURCES = {
    "alertmanager": ("/webhooks/alertmanager", bearer(AM_TOKEN)),
    "grafana": ("/webhooks/alertmanager", GRAFANA),
    "elastic": ("/webhooks/elastic", bearer(ELASTIC_TOKEN)),
    "generic": ("/webhooks/generic", bearer(GENERIC_TOKEN)),
    "pagerduty": ("/v2/enqueue", {}),
}
#: Written into the body as a bare JSON number after serialising (json.dumps cannot write it).
RAW = {"__raw_huge__": "1e999", "__raw_tiny__": "-1e999", "__raw_exp__": "1E+400", "__raw_long__": "1" * 400}
NASTY: list[Any] = [
    None, True, False, 0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, "", " ", "x" * 20_000,
    "a\x00b", "\x00", "\ud800", "x\udfffy", "\ud83d\ude00", "caf\u00e9", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00", "2026-13-45T99:00:00Z", "firing", "resolved", "trigger", "resolve",
    "acknowledge", "recovered", [], [None], [1, "a\x00"], ["\ud800", {"k": 1}], {}, {"a\x00": "\ud800"},
    {"": None}, {"nested": {"deeper": [{"x": 1e308}]}}, *RAW,
]
#: Where the body's keys may be added: the fields each parser reads, so a mutation reaches the parsing.
KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL", "runbook_url",
        "dashboard_url", "summary", "rule", "alert", "tags", "details", "title", "dedup_key", "links", "href",
        "text", "payload", "custom_details", "event_action", "routing_key", "severity", "service", "team",
        "timestamp", "groupKey", "truncatedAlerts", "commonAnnotations", "groupLabels", "client_url", "id",
        "name", "url", "action_group", "reason", "date", "dashboardURL", "valueString", "source", "context",
        "actionGroup", "serviceName", "environment", "alertDetailsUrl", "viewInAppUrl", "errorGroupingName",
        "ctx", "watch_id", "metadata", "execution_time", "hits", "total"]


@dataclass(frozen=True)
class Sample:
    source: str
    name: str
    path: str
    headers: dict[str, str]
    payload: Any


def samples() -> list[Sample]:
    """Every real payload under tests/webhooks/fixtures, with the endpoint and credentials it goes to."""
    found = []
    for source, (path, headers) in SOURCES.items():
        for file in sorted((FIXTURES / source).glob("*.json")):
            found.append(Sample(source, file.name, path, headers, json.loads(file.read_text())))
    return found


def encode(payload: Any) -> bytes:
    """The body as a sender would write it (surrogates as \\u escapes), with the raw numbers put in."""
    text = json.dumps(payload)
    for marker, raw in RAW.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode()


def _containers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict | list):
        yield value
        for item in value.values() if isinstance(value, dict) else value:
            yield from _containers(item)


def _nasty(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(NASTY))


def _mutate_once(rng: random.Random, payload: Any) -> Any:
    targets = list(_containers(payload))
    if not targets:
        return _nasty(rng)
    target = rng.choice(targets)
    if isinstance(target, list):
        if target and rng.random() < 0.8:
            target[rng.randrange(len(target))] = _nasty(rng)
        else:
            target.append(_nasty(rng))
        return payload
    keys = list(target)
    roll = rng.random()
    if keys and roll < 0.15:
        del target[rng.choice(keys)]
    elif keys and roll < 0.25:
        key = rng.choice(keys)
        target[rng.choice(["\x00" + key, key + "\ud800", key.upper(), ""])] = target.pop(key)
    else:
        target[rng.choice(keys + KEYS) if keys and roll < 0.7 else rng.choice(KEYS)] = _nasty(rng)
    return payload


def mutated(rng: random.Random, sample: Sample) -> bytes:
    """The sample's payload with one to four random mutations (values, keys, types), encoded."""
    payload = json.loads(json.dumps(sample.payload))
    for _ in range(rng.randint(1, 4)):
        payload = _mutate_once(rng, payload)
    return encode(payload)


def cases(seed: int, count: int) -> Iterator[tuple[Sample, bytes]]:
    """``count`` mutated deliveries, round-robin over the samples, the same for the same seed."""
    rng, pool = random.Random(seed), samples()
    for i in range(count):
        sample = pool[i % len(pool)]
        yield sample, mutated(rng, sample)
