"""docker-compose.yml as Compose renders it with the documented .env, the lock file, and the image itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
#: Set in docker-compose.yml's `environment`, which wins over .env.
COMPOSE_OWNED = {"TOCSIN_DATABASE_URL", "TOCSIN_CONFIG", "TOCSIN_HOST", "TOCSIN_PORT"}
#: Read by Compose itself, not by Tocsin.
COMPOSE_ONLY = {"TOCSIN_PUBLISH"}
LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if os.environ.get("CI"):
        pytest.fail("neither `docker compose` nor docker-compose is installed (scripts/test installs docker-compose)")
    pytest.skip("neither `docker compose` nor docker-compose is installed (scripts/test installs docker-compose)")


def _example_lines() -> list[tuple[bool, str, str]]:
    """(commented out, name, value) for each variable line of .env.example."""
    found = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if m := LINE.match(line):
            found.append((m.group(1) is not None, m.group(2), m.group(3)))
    return found


def _render(tmp_path: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    """`compose config` in a copy of the deployment directory: compose file, .env and tocsin.yml."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(env_text)
    (tmp_path / "tocsin.yml").write_text("teams: []\n")
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}  # only .env may feed the interpolation
    return subprocess.run([*_compose_command(), "config"], cwd=tmp_path, env=clean, capture_output=True,
                          text=True, timeout=60)


def _filled() -> dict[str, str]:
    """Every variable of .env.example, commented or not, given a value of its own, as a user fills it in."""
    values = {name: f"v-{name.lower()}-{uuid.uuid4().hex[:8]}" for _, name, _ in _example_lines()}
    values["TOCSIN_PUBLISH"] = "127.0.0.1:18080"
    return values


def _published(service: dict) -> list[tuple[str, str, str]]:
    """(host ip, host port, container port) of each published port, in either Compose's output format."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), str(port.get("published", "")), str(port["target"])))
        else:
            *host, target = port.split("/")[0].rsplit(":", 2)
            out.append((host[0] if len(host) == 2 else "", host[-1] if host else "", target))
    return out


def test_every_variable_of_the_documented_env_reaches_the_container(tmp_path):
    values = _filled()
    done = _render(tmp_path, "".join(f"{k}={v}\n" for k, v in values.items()))
    assert done.returncode == 0, done.stderr
    environment = yaml.safe_load(done.stdout)["services"]["tocsin"]["environment"]
    for name, value in values.items():
        if name not in COMPOSE_OWNED | COMPOSE_ONLY:
            assert environment.get(name) == value, name
    assert environment["TOCSIN_DATABASE_URL"] == (
        f"postgresql://tocsin:{values['POSTGRES_PASSWORD']}@postgres:5432/tocsin")
    assert environment["TOCSIN_HOST"] == "0.0.0.0" and environment["TOCSIN_CONFIG"] == "/etc/tocsin/tocsin.yml"


def test_only_the_documented_port_is_published_and_on_loopback_by_default(tmp_path):
    done = _render(tmp_path, "POSTGRES_PASSWORD=s3cret\n")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert _published(services["tocsin"]) == [("127.0.0.1", "8080", "8080")]
    assert _published(services["postgres"]) == []
    mount = next(v for v in services["tocsin"]["volumes"] if isinstance(v, dict))
    # The long form: Docker refuses a missing source instead of creating a directory there.
    assert mount["type"] == "bind" and mount["read_only"] is True and mount["target"] == "/etc/tocsin/tocsin.yml"


def test_the_shipped_env_starts_nothing_without_a_database_password(tmp_path):
    done = _render(tmp_path, ENV_EXAMPLE.read_text())
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in .env" in done.stderr


def test_example_tokens_never_become_live_with_the_shipped_env(tmp_path):
    """tocsin.example.yml's `:-example-...` defaults give way to the .env's empty values, which are refused."""
    done = _render(tmp_path, ENV_EXAMPLE.read_text().replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=s3cret\n"))
    environment = yaml.safe_load(done.stdout)["services"]["tocsin"]["environment"]
    example = [line for line in (ROOT / "tocsin.example.yml").read_text().splitlines() if not line.startswith("#")]
    defaulted = re.findall(r"\$\{([A-Z0-9_]+):-", "\n".join(example))
    assert defaulted and all(name in environment for name in defaulted)
    env = {"PATH": os.environ["PATH"], **{k: str(v) for k, v in environment.items() if v is not None}}
    check = subprocess.run([sys.executable, "-m", "bot", "config", "check", str(ROOT / "tocsin.example.yml")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 2 and "integrations[0]: set token" in check.stderr


def test_the_env_example_names_every_variable_of_the_configuration_reference():
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / "docs/configuration.md").read_text(), re.M))
    lines = _example_lines()
    assert documented <= {name for _, name, _ in lines}
    for commented, name, value in lines:
        if re.search(r"TOKEN|SECRET|PASSWORD", name) and not commented:
            assert value == "", f"{name}: .env.example must not ship a value for a secret"


def test_the_lock_pins_every_runtime_dependency_with_hashes():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^ ;\\\n]+)", lock, re.M))
    assert pins and lock.count("--hash=sha256:") >= len(pins)
    for requirement in map(Requirement, declared):
        name = re.sub(r"[._-]+", "-", requirement.name.lower())
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run scripts/lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} breaks {requirement}: run scripts/lock"


def _docker_daemon() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_daemon(), reason="no Docker daemon on this machine")
def test_the_image_serves_its_default_sqlite_database_as_an_unprivileged_user():
    tag = f"tocsin-test:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, capture_output=True, timeout=900)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    container = subprocess.run(["docker", "run", "-d", "-p", f"127.0.0.1:{port}:8080", tag],
                               check=True, capture_output=True, text=True).stdout.strip()
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(subprocess.run(["docker", "logs", container], capture_output=True, text=True).stdout)
        uid = subprocess.run(["docker", "exec", container, "id", "-u"], capture_output=True, text=True).stdout
        listed = subprocess.run(["docker", "exec", container, "ls", "/data"], capture_output=True, text=True).stdout
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    assert uid.strip() not in ("", "0") and "tocsin.db" in listed
