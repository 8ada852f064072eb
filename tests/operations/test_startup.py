"""Start-up mistakes as an operator meets them: one line that says what to do, nothing changed, no traceback."""

from __future__ import annotations

import socket

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.operations.conftest import Serving, free_port, run


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize(("args", "variables"), [
    (["serve", "--port", "99999"], {}),
    (["serve", "--port", "0"], {}),
    (["sidecar"], {"TOCSIN_PORT": "99999"}),
    (["serve"], {"TOCSIN_PORT": "http"}),
])
def test_a_port_out_of_range_is_refused_before_anything_starts(tmp_path, args, variables):
    result = run(args, tmp_path, **variables)
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("tocsin: ") and "1-65535" in line, line
    assert "listening" not in result.stdout
    assert not (tmp_path / "tocsin.db").exists()


def test_a_port_in_use_is_refused_without_the_banner_or_a_change(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port)], tmp_path)
    assert result.returncode == 1
    line = one_line(result)
    assert f"127.0.0.1:{port} is already in use" in line and "--port" in line, line
    assert "listening" not in result.stdout
    assert not (tmp_path / "tocsin.db").exists(), "nothing is migrated or applied when it cannot listen"


def test_incidents_list_on_an_unmigrated_sqlite_database_says_to_migrate(tmp_path):
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()  # an empty file, as sqlite3 leaves one
    result = run(["--database-url", f"sqlite:///{empty}", "incidents", "list"], tmp_path)
    assert result.returncode == 1
    assert "run `tocsin migrate`" in one_line(result)


def test_incidents_list_on_a_missing_sqlite_file_says_to_migrate_and_creates_nothing(tmp_path):
    result = run(["--database-url", f"sqlite:///{tmp_path / 'nothing.db'}", "incidents", "list"], tmp_path)
    assert result.returncode == 1
    assert "run `tocsin migrate`" in one_line(result)
    assert not (tmp_path / "nothing.db").exists()


def test_incidents_list_on_an_unmigrated_postgres_database_says_to_migrate(tmp_path, empty_pg):
    for args in (["incidents", "list"], ["incidents", "show", "1"], ["link-code", "ana@example.com"]):
        result = run(["--database-url", empty_pg, *args], tmp_path)
        assert result.returncode == 1
        line = one_line(result)
        assert "run `tocsin migrate`" in line and "relation" not in line, line


def test_a_database_one_migration_behind_says_to_migrate(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert run(["--database-url", url, "migrate", "--revision", "0001"], tmp_path).returncode == 0
    result = run(["--database-url", url, "incidents", "list"], tmp_path)
    assert result.returncode == 1
    line = one_line(result)
    assert "0001" in line and "run `tocsin migrate`" in line, line


@pytest.mark.parametrize("command", ["serve", "sidecar", "migrate"])
def test_a_sqlite_path_in_a_missing_folder_is_one_line(tmp_path, command):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'tocsin.db'}"
    args = ["--database-url", url, command] + (["--port", str(free_port())] if command != "migrate" else [])
    result = run(args, tmp_path)
    assert result.returncode == 1
    line = one_line(result)
    assert f"folder {tmp_path / 'no' / 'such'} does not exist" in line, line
    assert "listening" not in result.stdout


def _config(tmp_path, name: str, team: str):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"teams": [{"name": team}]}))
    return str(path)


def _teams(url: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT name FROM team")).scalars())
    finally:
        engine.dispose()


def test_a_second_serve_on_the_same_sqlite_file_is_refused_before_changing_anything(tmp_path, serving):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    serving.append(first := Serving(["--database-url", url, "serve", "--config", _config(tmp_path, "a.yml", "alpha")],
                                    tmp_path))
    first.wait_ready()
    second = run(["--database-url", url, "serve", "--port", str(free_port()),
                  "--config", _config(tmp_path, "b.yml", "beta")], tmp_path)
    assert second.returncode == 1
    line = one_line(second)
    assert "another Tocsin" in line and "TOCSIN_SCHEDULER=off" in line, line
    assert "listening" not in second.stdout
    assert _teams(url) == ["alpha"], "the refused process applied its config"
    assert first.proc.poll() is None


def test_two_serve_processes_on_postgres_both_run(tmp_path, serving, empty_pg):
    for name in ("a", "b"):
        serving.append(Serving(["--database-url", empty_pg, "serve", "--config",
                                _config(tmp_path, f"{name}.yml", "alpha")], tmp_path))
    for process in serving:
        process.wait_ready()
    outputs = [process.stop() for process in serving]
    for output in outputs:
        assert "Tocsin listening on" in output and "scheduler: on" in output and "Traceback" not in output, output
    assert _teams(empty_pg) == ["alpha"]
