"""Drills: an outbreak replayed in accelerated time against a copy of the data (``epigrid drill``).

"Useful in peacetime, effective in wartime": a drill exercises the real system on a *copy* of its data, so that
the map, the alarms and the grids' tasks move as they would in an outbreak while the production database is
never touched. ``epigrid drill``

1. copies the database the instance uses (:func:`copy_database`): SQLite through the backup API into
   ``var/drill-<stamp>.sqlite3``; PostgreSQL with ``CREATE DATABASE <name>_drill_<stamp> TEMPLATE <name>``,
   which needs the source to have no other connections (stop the server and the workers first; the error
   says so);
2. starts two child processes with ``EPIGRID_DATABASE_URL`` pointing at the copy and ``EPIGRID_DRILL=1``:
   ``epigrid serve`` on another port (default 8001) and the replay (:func:`replay`). With ``EPIGRID_DRILL=1``
   every page shows a 演练 / DRILL banner, PDFs and downloaded files are marked, and every event carries
   ``"drill": true`` (``core.drill``);
3. after the replay the drill site stays up until interrupted, for the debriefing; the copy is kept (the
   command prints how to remove it).

**The replay** computes the spread once with the outbreak simulator's own functions (the same recorded and,
where the records stop, generated stays; :func:`~epigrid.simulation.outbreak.spread` over the last ``days``
days), then releases its consequences one simulated day at a time: the infections whose symptoms would bring
them to a fever clinic that day are reported and tested through the real health-code and testing services
(:func:`~epigrid.simulation.outbreak._test_positive`), so cases, contacts, quarantine, grid tasks and alarms
follow through the real handlers. Between days it sleeps ``86400 / speed`` seconds (``--speed 1440``: one
simulated day per minute). :func:`replay` refuses to run anywhere but a drill instance on a drill copy.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from epigrid.simulation import outbreak

DAY_SECONDS = 86_400
PG_IDENTIFIER_MAX = 63


class DrillError(RuntimeError):
    """The drill cannot start; the message says why and what to do."""


# --- the copy ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillCopy:
    vendor: str  # sqlite | postgresql
    name: str  # file path or database name
    url: str  # EPIGRID_DATABASE_URL of the copy

    def removal_hint(self) -> str:
        if self.vendor == "sqlite":
            return f"rm {self.name}*"
        return f"psql -c 'DROP DATABASE \"{self.name}\"'"


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M%S")


def copy_database(*, stamp: str | None = None) -> DrillCopy:
    """Copy the database this process uses; returns where the copy is. Nothing is written to the source."""
    stamp = stamp or _stamp()
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return _copy_sqlite(stamp)
    if connection.vendor == "postgresql":
        return _copy_postgres(db, stamp)
    raise DrillError(f"drills copy SQLite and PostgreSQL databases, not {connection.vendor}")


def _copy_sqlite(stamp: str) -> DrillCopy:
    target = Path(settings.VAR_DIR) / f"drill-{stamp}.sqlite3"
    if target.exists():
        raise DrillError(f"{target} exists already; wait a second and run the drill again")
    target.parent.mkdir(parents=True, exist_ok=True)
    connection.ensure_connection()
    source = connection.connection  # the live sqlite3 connection: backup() sees committed data, WAL included
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
    return DrillCopy("sqlite", str(target), f"sqlite:///{target.resolve()}")


def drill_database_name(source: str, stamp: str) -> str:
    """``<source>_drill_<stamp>`` within PostgreSQL's 63-character identifiers."""
    suffix = "_drill_" + re.sub(r"[^0-9]", "", stamp)
    return source[: PG_IDENTIFIER_MAX - len(suffix)] + suffix


def _copy_postgres(db: dict[str, Any], stamp: str) -> DrillCopy:
    import psycopg
    from psycopg import sql

    source = db["NAME"]
    name = drill_database_name(source, stamp)
    connections.close_all()  # our own session would block the TEMPLATE copy too
    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(source))
            )
    except psycopg.errors.ObjectInUse:
        raise DrillError(
            f"PostgreSQL cannot copy {source!r} while other sessions are connected to it: "
            f"CREATE DATABASE ... TEMPLATE {source} needs the source database to have no other connections. "
            "Stop `epigrid serve`, `epigrid worker` and any other client of that database, then run "
            "`epigrid drill` again (restart them afterwards; the drill serves its copy on its own port)."
        ) from None
    except psycopg.Error as err:
        raise DrillError(f"PostgreSQL could not copy {source!r} to {name!r}: {err}") from None
    parts = urlsplit(settings.DATABASE_URL)
    return DrillCopy("postgresql", name, urlunsplit(parts._replace(path=f"/{name}")))


def drill_environment(copy: DrillCopy) -> dict[str, str]:
    """The environment of the drill's child processes: the copy, and drill mode on."""
    return {**os.environ, "EPIGRID_DATABASE_URL": copy.url, "EPIGRID_DRILL": "1"}


def ensure_drill_instance() -> None:
    """Refuse unless this process is a drill instance (``EPIGRID_DRILL=1``) on a drill copy."""
    if not settings.DRILL:
        raise DrillError(
            "refusing to replay a drill outside drill mode (EPIGRID_DRILL=1); use `epigrid drill`"
        )
    name = Path(str(settings.DATABASES["default"]["NAME"])).name.lower()
    if "drill" not in name:
        raise DrillError(f"refusing to replay a drill into {name!r}, which is not a drill copy")


# --- the replay ----------------------------------------------------------------------------------------------


@dataclass
class ReplayPlan:
    """The spread computed once, and who is found on which simulated day."""

    start: int  # us
    end: int  # us
    days: int
    infections: dict[int, outbreak.Infection]
    found_on: list[list[int]]  # day -> person ids tested positive that day
    recorded: int = 0
    generated: int = 0


@dataclass
class ReplaySummary:
    days: int
    seeds: int
    speed: float
    infected: int
    released: int
    cases: int
    per_day: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def plan_replay(
    *, seeds: int, days: int, seed: int, district_code: str = "", disease_code: str = ""
) -> ReplayPlan:
    """The simulator's spread over the last ``days`` days of the district (``outbreak.spread_over_district``,
    as ``epigrid simulate``), and the simulated day on which each detected infection is found."""
    from epigrid.core.selectors import district_code as installed_district

    district_code = district_code or installed_district()
    if not district_code:
        raise DrillError("the database has no district to drill with: load one (`epigrid demo`) first")
    try:
        spread = outbreak.spread_over_district(
            seeds=seeds, days=days, seed=seed, district_code=district_code, disease_code=disease_code or None
        )
    except RuntimeError as exc:  # no residents
        raise DrillError(f"{exc}: load a district (`epigrid demo`) first") from exc
    found_on: list[list[int]] = [[] for _ in range(days)]
    for pk, found_at in spread.detected(seed):
        if found_at >= spread.start:  # found before the replayed days: not part of the drill
            found_on[min(days - 1, (found_at - spread.start) // outbreak.DAY_US)].append(pk)
    return ReplayPlan(
        spread.start, spread.end, days, spread.infections, found_on, spread.recorded, spread.generated
    )


def _publish(event_type: str, payload: dict[str, Any]) -> None:
    from django.db import transaction

    from epigrid.core import events
    from epigrid.core.selectors import district_code

    with transaction.atomic():
        events.publish(event_type, payload=payload, org_code=district_code())


def _next_second(last: str) -> None:
    """Wait until the clock's second differs from ``last`` (taken after the previous release): the
    simulator's tube barcodes carry the second they were made in, so two days released within one second
    would collide."""
    while timezone.now().strftime("%y%m%d%H%M%S") == last:
        time.sleep(0.05)


def replay(
    *,
    days: int = 7,
    seeds: int = 5,
    seed: int = 1,
    speed: float = 1440.0,
    progress: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplaySummary:
    """Replay an outbreak in accelerated time on this drill instance (see the module's docstring)."""
    ensure_drill_instance()
    if days < 1 or seeds < 1 or speed <= 0:
        raise DrillError("a drill needs at least one day, one seed infection and a positive speed")
    started = time.perf_counter()
    plan = plan_replay(seeds=seeds, days=days, seed=seed)
    seconds_per_day = DAY_SECONDS / speed
    _say(
        progress,
        f"{len(plan.infections)} infected from {seeds} seeds over {days} days; "
        f"{sum(map(len, plan.found_on))} to be found; one simulated day every {seconds_per_day:.1f} s",
    )
    _publish("drill.started", {"count": seeds, "state": "started", "days": days, "speed": speed})
    last_stamp = ""
    per_day: list[int] = []
    cases: dict[int, int] = {}
    for day, people in enumerate(plan.found_on):
        day_started = time.monotonic()
        if people:
            _next_second(last_stamp)
            cases.update(outbreak._test_positive(people, plan.infections, seed * 1000 + day))
            last_stamp = timezone.now().strftime("%y%m%d%H%M%S")
        per_day.append(len(people))
        _publish("drill.day", {"count": len(people), "state": f"{day + 1}/{days}", "day": day + 1})
        _say(progress, f"day {day + 1}/{days}: {len(people)} positive")
        if day < days - 1:
            sleep(max(0.0, seconds_per_day - (time.monotonic() - day_started)))
    _publish("drill.finished", {"count": len(cases), "state": "finished"})
    return ReplaySummary(
        days=days,
        seeds=seeds,
        speed=speed,
        infected=len(plan.infections),
        released=sum(per_day),
        cases=len(cases),
        per_day=per_day,
        elapsed_s=round(time.perf_counter() - started, 2),
    )


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"  drill: {message}", file=sys.stderr, flush=True)


# --- the command ---------------------------------------------------------------------------------------------


def child_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "epigrid.cli", *args]


def run(
    *,
    host: str = "127.0.0.1",
    port: int = 8001,
    serve: bool = True,
    days: int = 7,
    seeds: int = 5,
    seed: int = 1,
    speed: float = 1440.0,
) -> int:
    """``epigrid drill``: copy the database, serve the copy in drill mode and replay an outbreak into it."""
    try:
        copy = copy_database()
    except DrillError as err:
        print(f"epigrid drill: {err}", file=sys.stderr)
        return 2
    connections.close_all()
    env = drill_environment(copy)
    print(f"Drill copy: {copy.name} (remove it afterwards: {copy.removal_hint()})")
    server = None
    if serve:
        command = child_command("serve", "--host", host, "--port", str(port))
        server = subprocess.Popen(command, env=env)  # noqa: S603 - our own command line
        print(f"Drill site: http://{host}:{port}/  (演练 DRILL: every page says so)")
    replay_args = ["--days", str(days), "--seeds", str(seeds), "--seed", str(seed), "--speed", str(speed)]
    # Stopped by a service manager (SIGTERM) as by Ctrl-C: the children are stopped with us, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        code = subprocess.call(child_command("drill", "--in-copy", *replay_args), env=env)  # noqa: S603
        if code != 0:
            print(f"epigrid drill: the replay failed (exit {code})", file=sys.stderr)
        if server is not None:
            print("The replay is over; the drill site stays up for the debriefing. Ctrl-C ends it.")
            server.wait()
        return code
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def run_in_copy(*, days: int, seeds: int, seed: int, speed: float) -> int:
    """The replay child of ``epigrid drill`` (``--in-copy``): runs only as a drill instance on a copy."""
    import json

    try:
        summary = replay(days=days, seeds=seeds, seed=seed, speed=speed, progress=True)
    except DrillError as err:
        print(f"epigrid drill: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict(), ensure_ascii=False))
    return 0
