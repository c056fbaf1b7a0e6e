"""The alarm latency benchmark runs end to end (a real server, chromium) and cleans up after itself."""

from __future__ import annotations

import pytest

from epigrid.command.bench_latency import LATENCY_DISTRICT, bench_alarm_latency
from epigrid.command.models import Alarm
from epigrid.core.models import OrgUnit, User

pytestmark = pytest.mark.browser


def test_alarm_latency_bench_measures_both_servers_and_leaves_nothing(transactional_db, browser):
    metrics = {m["metric"]: m for m in bench_alarm_latency(n=2, browser=browser)}
    native, polls = metrics["alarm_to_browser_p50"], metrics["alarm_to_browser_wsgi_polls_p50"]
    assert native["n"] == 2 and polls["n"] == 3
    # Latencies are positive and the native stream's figure carries the polls' as its baseline.
    assert native["value"] > 0 and native["baseline"] == polls["value"] > 0
    assert not OrgUnit.objects.filter(code__startswith=LATENCY_DISTRICT).exists()
    assert not User.objects.filter(username="bench_commander").exists()
    assert not Alarm.objects.filter(org_code__startswith=LATENCY_DISTRICT).exists()
