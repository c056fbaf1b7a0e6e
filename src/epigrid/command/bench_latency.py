"""``epigrid bench command``, second part: how long an alarm takes from the event's commit to the commander's
open map, measured in Debian's chromium through Playwright against ``epigrid serve`` in a child process.

The bench process publishes alarm-class events (``emergency.reported``) on the same database, as any process
of the platform would; the command center's handler raises the alarm after the commit, the server's event hub
finds it (table or Redis), the stream carries it, the page fetches the alarm and lists it. A MutationObserver
in the page notes when each alarm's row appears; the latency is that moment minus the moment before the
publishing transaction began (same machine, same clock). Baseline, in the same run: the same path under a
plain WSGI server (``EPIGRID_SERVER=wsgi``), where the stream falls back to short polls the browser repeats.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from django.db import connection, transaction

from epigrid.command.models import Alarm
from epigrid.core import events
from epigrid.core.models import User
from epigrid.core.roles import Role
from epigrid.simulation.benchkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    bench_jurisdiction,
    delete_org_units,
    free_port,
    server_password_hash,
    start_server,
)

LATENCY_DISTRICT = "370690"
PASSWORD = "bench-latency-1"  # a throwaway account of the bench jurisdiction, removed afterwards
WATCH_ROWS = """() => {
  window.__seen = {};
  const list = document.getElementById("cc-alarm-list");
  new MutationObserver(() => {
    for (const row of list.querySelectorAll("[data-alarm-id]")) {
      const id = row.getAttribute("data-alarm-id");
      if (!(id in window.__seen)) window.__seen[id] = Date.now();
    }
  }).observe(list, {childList: true, subtree: true});
}"""


def _publish(grid_code: str, lat: float, lng: float, n: int) -> tuple[float, int]:
    started = time.time()
    with transaction.atomic():
        event = events.publish(
            "emergency.reported",
            payload={"emergency_id": 0, "kind": "other", "place": f"基准告警{n}", "lat": lat, "lng": lng},
            org_code=grid_code,
        )
    # The alarm is raised by the handler after the commit, in this process.
    return started, Alarm.objects.get(event=event).pk


def _measure(browser: Any, server_env: dict[str, str], grid: Any, n: int) -> list[float]:
    port = free_port()
    server = start_server(port, 2, extra_env=server_env)
    base = f"http://127.0.0.1:{port}"
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/login/")
        page.fill("input[name=username]", "bench_commander")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]:not([name=language])")
        page.wait_for_load_state()
        page.goto("/command/")
        page.wait_for_selector("#command-center[data-stream-state=live]")
        page.evaluate(WATCH_ROWS)
        latencies = []
        rng = random.Random(n)
        for i in range(n):
            started, alarm_id = _publish(grid.code, grid.centroid_lat, grid.centroid_lng, i)
            page.wait_for_function("id => id in window.__seen", arg=str(alarm_id), polling=10)
            seen_ms = page.evaluate("id => window.__seen[id]", str(alarm_id))
            latencies.append(seen_ms - started * 1000)
            # A random pause: a fixed one would lock onto the hub's polling period and always hit one phase.
            time.sleep(rng.uniform(0.1, 0.7))
        return latencies
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)


def _summary(name: str, values: list[float], *, baseline: list[float] | None, **extra: Any) -> dict[str, Any]:
    cut = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
    out: dict[str, Any] = {"metric": name, "value": round(statistics.median(values), 1), "unit": "ms"}
    out["p90"] = round(cut[8], 1)
    out["max"] = round(max(values), 1)
    if baseline:
        out["baseline"] = round(statistics.median(baseline), 1)
        out["ratio"] = round(out["value"] / out["baseline"], 4) if out["baseline"] else None
    out.update(extra)
    return out


def bench_alarm_latency(
    *, scale: int | None = None, n: int = 20, browser: Any = None
) -> list[dict[str, Any]]:
    """Event-to-browser latency of an alarm on the open map (target p50 < 1 s), ASGI stream vs WSGI polls.
    ``browser``: a Playwright chromium already running (tests); else one is launched here."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    district, [grid] = bench_jurisdiction(LATENCY_DISTRICT, "延迟基准区", lat=35.0, lng=118.0, grids=1)
    # Hashed explicitly: the server checks it with the default hashers whatever this process is set to use.
    commander = User.objects.create(
        username="bench_commander",
        password=server_password_hash(PASSWORD),
        role=Role.COMMANDER,
        org_unit=district,
    )
    redis = {"EPIGRID_REDIS_URL": os.environ.get("EPIGRID_REDIS_URL", "")}

    def both(chromium: Any) -> tuple[list[float], list[float]]:
        baseline = _measure(chromium, {**redis, "EPIGRID_SERVER": "wsgi"}, grid, max(3, n // 4))
        return baseline, _measure(chromium, {**redis, "EPIGRID_SERVER": "asgi"}, grid, n)

    try:
        if browser is not None:
            baseline, native = both(browser)
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    baseline, native = both(launched)
                finally:
                    launched.close()
    finally:
        Alarm.objects.filter(org_code__startswith=LATENCY_DISTRICT).delete()
        commander.delete()
        delete_org_units(LATENCY_DISTRICT)
    fanout = "redis" if redis["EPIGRID_REDIS_URL"] else "table"
    database = connection.vendor
    return [
        _summary(
            "alarm_to_browser_p50",
            native,
            baseline=baseline,
            n=n,
            fanout=fanout,
            target_p50_ms=1000,
            database=database,
        ),
        _summary(
            "alarm_to_browser_wsgi_polls_p50",
            baseline,
            baseline=None,
            n=len(baseline),
            fanout=fanout,
            database=database,
        ),
    ]
