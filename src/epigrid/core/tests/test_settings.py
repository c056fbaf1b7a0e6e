"""Production mode refuses to start with the demo's public secrets."""

from __future__ import annotations

import os
import subprocess
import sys


def _start(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPIGRID_")}
    env.update(env_extra)
    code = "import epigrid.settings"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)


def test_production_without_secrets_refuses():
    result = _start({"EPIGRID_MODE": "production"})
    assert result.returncode != 0
    assert "EPIGRID_SECRET_KEY" in result.stderr and "EPIGRID_FIELD_KEY" in result.stderr


def test_production_with_secrets_starts():
    result = _start(
        {
            "EPIGRID_MODE": "production",
            "EPIGRID_SECRET_KEY": "x" * 50,
            "EPIGRID_FIELD_KEY": "c2VjcmV0LWZpZWxkLWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ==",
            "EPIGRID_ALLOWED_HOSTS": "epigrid.example",
        }
    )
    assert result.returncode == 0, result.stderr


def test_demo_mode_starts_with_defaults():
    assert _start({}).returncode == 0
