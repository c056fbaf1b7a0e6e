"""The ``epigrid`` command: demo, serve, worker, manage, simulate, drill, bench (see docs/contracts in README)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMO_PASSWORD = "demo"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epigrid.settings")
    import django
    from django.conf import settings

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    django.setup()


def _reset_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from epigrid.core.models import DiseaseProfile, PolicyVersion
    from epigrid.core.seeding import seed_diseases

    seed_diseases(DiseaseProfile, PolicyVersion)


def cmd_demo(args: argparse.Namespace) -> int:
    _setup_django()
    if args.reset:
        _reset_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from epigrid.simulation import district

    summary = district.ensure_demo_district(scale=args.scale, seed=args.seed, progress=True)
    url = f"http://{args.host}:{args.port}/"
    print(f"\nEpiGrid demo district: {summary}")
    print(f"Open {url}  (demo data; every account's password is '{DEMO_PASSWORD}')")
    print("Accounts: " + ", ".join(district.DEMO_USERNAMES))
    from epigrid.portal.demo import sign_in_numbers

    numbers = ", ".join(f"{username} {phone}" for username, phone in sign_in_numbers())
    if numbers:  # the code appears on the page in the demo (console SMS backend)
        print(f"Residents also sign in with a one-time code at {url}portal/login/ : {numbers}")
    if args.no_serve:
        return 0
    return _serve(args.host, args.port)


def _serve(host: str, port: int, workers: int = 2) -> int:
    """Serve the site with granian (Rust HTTP) running ``epigrid.asgi``: Django's requests the WSGI way, one
    thread hop each (shared docs/performance.md: Django's own ASGI handler is 5-6x slower here), and the event
    stream natively, a coroutine per open map.

    ``EPIGRID_SERVER=wsgi`` serves Django through granian's WSGI interface and ``EPIGRID_SERVER=gunicorn``
    through gunicorn's threaded workers instead; under both the event stream degrades to short polls that the
    browser repeats (``core.streamhttp``).
    """
    server = os.environ.get("EPIGRID_SERVER", "asgi")
    if server == "gunicorn":
        return _serve_gunicorn(host, port, workers)
    from granian.constants import Interfaces
    from granian.server import Server

    threads = int(os.environ.get("EPIGRID_SERVER_THREADS", "8"))
    if server == "wsgi":
        target, options = (
            "epigrid.wsgi:application",
            {"interface": Interfaces.WSGI, "blocking_threads": threads},
        )
    else:
        target, options = "epigrid.asgi:application", {"interface": Interfaces.ASGI}
    Server(
        target,
        address=host,
        port=port,
        workers=workers,
        log_level="warning",
        respawn_failed_workers=True,
        workers_kill_timeout=10,  # open event streams never finish on their own: stop within 10 s
        **options,
    ).serve()
    return 0


def _serve_gunicorn(host: str, port: int, workers: int) -> int:
    from gunicorn.app.base import BaseApplication

    from epigrid.wsgi import application

    class _App(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": int(os.environ.get("EPIGRID_SERVER_THREADS", "8")),
                "accesslog": None,
                "timeout": 120,
                "graceful_timeout": 5,
            }.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    _App().run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("check", deploy=False)
    return _serve(args.host, args.port, args.workers)


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    import threading

    from django.core.management import call_command

    from epigrid.core import periodic

    stop = threading.Event()
    scheduler = threading.Thread(target=periodic.run_scheduler, args=(stop,), daemon=True, name="scheduler")
    if not args.batch:
        scheduler.start()
    else:
        periodic.enqueue_due()
    try:
        call_command("db_worker", batch=args.batch, queue_name="*", reload=False)
    finally:
        stop.set()
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epigrid.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["epigrid manage", *args.args])
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    _setup_django()
    import json

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from epigrid.simulation import district, outbreak

    # On the district a demo loaded; a database without one gets the demo district of --scale first.
    print(
        district.ensure_demo_district(scale=args.scale, seed=args.demo_seed, progress=True), file=sys.stderr
    )
    summary = outbreak.run_outbreak(
        seeds=args.seeds, days=args.days, seed=args.seed, out=args.out, progress=True
    )
    print(json.dumps(summary.as_dict(), ensure_ascii=False))
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    """Copy the database, serve the copy in drill mode and replay an outbreak into it (simulation.drill)."""
    _setup_django()
    from epigrid.simulation import drill

    if args.in_copy:  # the replay child, started by the parent below with the copy and EPIGRID_DRILL=1
        return drill.run_in_copy(days=args.days, seeds=args.seeds, seed=args.seed, speed=args.speed)
    return drill.run(
        host=args.host,
        port=args.port,
        serve=not args.no_serve,
        days=args.days,
        seeds=args.seeds,
        seed=args.seed,
        speed=args.speed,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    _setup_django()
    from epigrid.simulation import bench

    if args.list or not args.name:
        for name, func in bench.BENCHMARKS.items():
            print(f"{name}\t{(func.__doc__ or '').strip().splitlines()[0]}")
        return 0
    return bench.run(args.name, scale=args.scale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="epigrid", description="EpiGrid epidemic prevention and control")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="load the synthetic district and serve it")
    demo.add_argument("--scale", choices=["tiny", "district"], default="tiny")
    demo.add_argument("--seed", type=int, default=20211214)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true")
    demo.add_argument("--reset", action="store_true", help="drop existing data and load afresh")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="production server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background tasks until interrupted")
    worker.add_argument("--batch", action="store_true", help="enqueue due periodic jobs, run all, then exit")
    worker.set_defaults(func=cmd_worker)

    manage = sub.add_parser("manage", help="Django management commands", add_help=False)
    manage.add_argument("args", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)

    simulate = sub.add_parser(
        "simulate", help="spread an outbreak through the district (writes ground truth)"
    )
    simulate.add_argument("--seeds", type=int, default=5, help="infections to seed (K)")
    simulate.add_argument("--days", type=int, default=14, help="days of spread, ending now (D)")
    simulate.add_argument("--seed", type=int, default=1, help="random seed: the same seed, the same outbreak")
    simulate.add_argument(
        "--out", default=None, help="ground-truth JSON file (default var/outbreak-SEED.json)"
    )
    simulate.add_argument(
        "--scale", choices=["tiny", "district"], default="tiny", help="demo district to load if none"
    )
    simulate.add_argument("--demo-seed", type=int, default=20211214, help=argparse.SUPPRESS)
    simulate.set_defaults(func=cmd_simulate)

    drill = sub.add_parser(
        "drill", help="replay an outbreak in accelerated time on a copy of the database, served in drill mode"
    )
    drill.add_argument("--days", type=int, default=7, help="simulated days to replay")
    drill.add_argument("--seeds", type=int, default=5, help="infections to seed")
    drill.add_argument("--seed", type=int, default=1, help="random seed: the same seed, the same outbreak")
    drill.add_argument(
        "--speed", type=float, default=1440.0, help="simulated seconds per real second (1440: a day a minute)"
    )
    drill.add_argument("--host", default="127.0.0.1")
    drill.add_argument("--port", type=int, default=8001, help="port of the drill site (not production's)")
    drill.add_argument("--no-serve", action="store_true", help="replay only, serve nothing")
    drill.add_argument("--in-copy", action="store_true", help=argparse.SUPPRESS)
    drill.set_defaults(func=cmd_drill)

    bench = sub.add_parser("bench", help="benchmarks, one JSON object per metric per line")
    bench.add_argument("name", nargs="?")
    bench.add_argument("--scale", type=int, default=None)
    bench.add_argument("--list", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
