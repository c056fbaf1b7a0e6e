"""What the benchmarks share: a throwaway jurisdiction of their own, removing it afterwards, and a real server
in a child process on the same database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.db import connection

from epigrid.core import geo, services
from epigrid.core.models import OrgLevel, OrgUnit


def bulk_load(model: Any, fields: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Bulk-load ``rows`` (values in ``fields`` order, already in the database's form): ``COPY`` on
    PostgreSQL, one prepared ``INSERT`` through ``executemany`` per 20,000 rows on SQLite."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= 20_000:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def square(lat: float, lng: float, size: float) -> dict:
    """A GeoJSON square with its south-west corner at (lat, lng)."""
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def bench_jurisdiction(
    code: str, name: str, *, lat: float, lng: float, grids: int = 1
) -> tuple[OrgUnit, list[OrgUnit]]:
    """District ``code`` with one street and one community holding ``grids`` grids side by side (0.02°
    each), through the services; refuses when the code is taken (an earlier run that died)."""
    if OrgUnit.objects.filter(code__startswith=code).exists():
        raise RuntimeError(f"org units under {code} exist already (an earlier run died?); remove them")
    outline = square(lat, lng, 0.02 * max(grids, 1))
    unit = None
    for level, unit_code, unit_name in (
        (OrgLevel.DISTRICT, code, name),
        (OrgLevel.STREET, f"{code}001", "基准街道"),
        (OrgLevel.COMMUNITY, f"{code}001001", "基准社区"),
    ):
        unit = services.orgunit_create(
            actor=None, code=unit_code, level=level, name=unit_name, parent=unit, boundary=outline
        )
    district = OrgUnit.objects.get(code=code)
    cells = [
        services.orgunit_create(
            actor=None,
            code=f"{unit.code}{g:03d}",
            level=OrgLevel.GRID,
            name=f"第{g}网格",
            parent=unit,
            boundary=square(lat + 0.02 * (g - 1), lng, 0.02),
            centroid=(lat + 0.02 * (g - 1) + 0.01, lng + 0.01),
        )
        for g in range(1, grids + 1)
    ]
    return district, cells


def delete_org_units(code: str) -> None:
    """Remove the bench jurisdiction, leaves first (org units protect their children)."""
    for length in (15, 12, 9, 6):
        OrgUnit.objects.filter(code__startswith=code, code__regex=rf"^\d{{{length}}}$").delete()
    geo.invalidate()


# Debian's chromium as the browser tests and the browser benchmarks launch it (Playwright).
CHROMIUM = os.environ.get("EPIGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def server_password_hash(password: str) -> str:
    """A password hash ``epigrid serve`` verifies with its default hashers, whatever this process is set to
    use (tests hash with MD5 for speed); a low iteration count keeps it quick. For throwaway accounts only."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    return PBKDF2PasswordHasher().encode(password, "epigridbench", iterations=10_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this process is using (in tests: the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"], safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_server(port: int, workers: int, *, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``epigrid serve`` in a child process on this process's database; returns once /healthz answers."""
    env = {**os.environ, "EPIGRID_DATABASE_URL": database_url(), **(extra_env or {})}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter running our own command
        [sys.executable, "-m", "epigrid.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("the server exited at start") from None
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not answer /healthz within 60 s")
