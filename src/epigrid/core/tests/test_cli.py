"""The `epigrid` command: the production server answers over real HTTP; bench lists its benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _epigrid(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "epigrid.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EPIGRID_", "DJANGO_"))}
    env["EPIGRID_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env["EPIGRID_VAR_DIR"] = str(tmp_path)
    return env


def test_serve_answers_healthz_and_the_api(cli_env):
    migrate = _epigrid("manage", "migrate", "--noinput", env=cli_env, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "epigrid.cli", "serve", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok"}
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not come up in 30 s"
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=5) as response:
            assert "/api/v1/auth/token" in json.load(response)["paths"]
        request = urllib.request.Request(
            f"{base}/api/v1/auth/token",
            data=json.dumps({"username": "nobody", "password": "x"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 401
        with urllib.request.urlopen(f"{base}/static/epigrid/epigrid.css", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bench_list_names_benchmarks(cli_env):
    result = _epigrid("bench", "--list", env=cli_env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "person_register" in result.stdout


def test_production_mode_refuses_to_serve_with_demo_secrets(cli_env):
    result = _epigrid(
        "serve", "--port", str(_free_port()), env={**cli_env, "EPIGRID_MODE": "production"}, timeout=60
    )
    assert result.returncode != 0
    assert "Refusing to start in production mode" in result.stderr
