"""The served OpenAPI document and the server agree: a bounded, deterministic share of bench/schemathesis_api.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_with_every_check_finds_no_server_error_and_no_mismatch():
    result = subprocess.run(
        [sys.executable, "bench/schemathesis_api.py", "--max-examples", "8", "--phases", "fuzzing"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["5xx"] == 0 and summary["schemathesis_exit"] == 0
    assert summary["requests"] > 100 and {"200", "400"} <= set(summary["statuses"]), summary
