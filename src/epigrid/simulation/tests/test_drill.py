"""Drills: labelled everywhere (pages, PDFs, downloads, events), replayed only on a drill instance, and an
actual replay into a copy that leaves the original database exactly as it was."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys

import pytest
from django.db import connection
from django.test import RequestFactory

from epigrid.core import events
from epigrid.core.drill import DrillFileNames, mark_disposition
from epigrid.core.models import Event
from epigrid.simulation import district, drill

# --- labelled everywhere ---------------------------------------------------------------------------------


def test_events_of_a_drill_instance_say_so(db, settings):
    settings.DRILL = True
    one = events.publish("test.drill", payload={"a": 1}, org_code="370699")
    many = events.publish_many("test.drill", [({"b": 2}, "370699"), ({"c": 3}, "370699")])
    settings.DRILL = False
    real = events.publish("test.real", payload={"a": 1}, org_code="370699")
    stored = {e.pk: e.payload for e in Event.objects.all()}
    assert stored[one.pk] == {"a": 1, "drill": True}
    assert [stored[e.pk] for e in many] == [{"b": 2, "drill": True}, {"c": 3, "drill": True}]
    assert stored[real.pk] == {"a": 1}


def test_every_page_shows_the_drill_banner(client, settings):
    settings.DRILL = True
    page = client.get("/login/").content.decode()
    assert 'data-testid="drill-banner"' in page and "演练 / DRILL" in page
    assert "<title>[演练 DRILL]" in page
    settings.DRILL = False
    assert 'data-testid="drill-banner"' not in client.get("/login/").content.decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="assessment-grid-2022-03.xlsx"', 'attachment; filename="DRILL-assessment-grid-2022-03.xlsx"'),
        ("attachment; filename=trajectory.csv", "attachment; filename=DRILL-trajectory.csv"),
        ("inline; filename*=UTF-8''%E8%BD%A8.csv", "inline; filename*=UTF-8''DRILL-%E8%BD%A8.csv"),
        ('attachment; filename="DRILL-x.pdf"', 'attachment; filename="DRILL-x.pdf"'),
    ],
)  # fmt: skip
def test_downloaded_files_carry_drill_in_their_name(header, expected):
    assert mark_disposition(header) == expected


def test_the_middleware_renames_downloads_only_on_a_drill_instance(settings):
    from django.http import HttpResponse

    def export(request):
        response = HttpResponse(b"a,b\n", content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="cases.csv"'
        return response

    middleware = DrillFileNames(export)
    request = RequestFactory().get("/x")
    settings.DRILL = False
    assert middleware(request)["Content-Disposition"] == 'attachment; filename="cases.csv"'
    settings.DRILL = True
    assert middleware(request)["Content-Disposition"] == 'attachment; filename="DRILL-cases.csv"'


def test_a_real_excel_export_of_a_drill_instance_is_named_so(users, login_client, settings):
    settings.DRILL = True
    response = login_client(users["commander"]).get("/grid/assessment.xlsx")
    assert response.status_code == 200
    assert 'filename="DRILL-assessment-' in response["Content-Disposition"]


def _pdf_text(settings, drill_mode: bool) -> str:
    import pypdfium2
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from epigrid.core.pdf import draw_text

    settings.DRILL = drill_mode
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    draw_text(pdf, 100, 400, "隔离通知 notice", 12)
    pdf.showPage()
    draw_text(pdf, 100, 400, "第二页 page two", 12)
    pdf.save()
    document = pypdfium2.PdfDocument(buffer.getvalue())
    try:
        return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


def test_pdfs_of_a_drill_instance_carry_the_drill_mark_on_every_page(settings):
    text = _pdf_text(settings, drill_mode=True)
    assert text.count("DRILL") >= 4  # the band and the diagonal mark on each of the two pages
    assert "notice" in text and "page two" in text
    assert "DRILL" not in _pdf_text(settings, drill_mode=False)


# --- the replay refuses the real database ------------------------------------------------------------------


def test_the_replay_runs_only_on_a_drill_instance_on_a_drill_copy(db, settings):
    settings.DRILL = False
    with pytest.raises(drill.DrillError, match="EPIGRID_DRILL"):
        drill.replay(days=1, seeds=1)
    settings.DRILL = True  # drill mode, but the database is not a drill copy (it is the test database)
    with pytest.raises(drill.DrillError, match="not a drill copy"):
        drill.replay(days=1, seeds=1)


def test_postgres_copy_names_fit_an_identifier():
    assert drill.drill_database_name("epigrid", "20220314-101500") == "epigrid_drill_20220314101500"
    long = drill.drill_database_name("x" * 80, "20220314-101500")
    assert len(long) == 63 and long.endswith("_drill_20220314101500")


def test_the_command_line_options():
    from epigrid.cli import build_parser

    args = build_parser().parse_args(["drill", "--days", "3", "--speed", "86400", "--no-serve"])
    assert (args.days, args.speed, args.no_serve, args.port, args.in_copy) == (3, 86400.0, True, 8001, False)


# --- a replay into a copy -------------------------------------------------------------------------------


def _fingerprint(path: str) -> str:
    """Every row of every table of the SQLite file at ``path``, hashed (read through its own connection)."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        for line in source.iterdump():
            digest.update(line.encode())
        return digest.hexdigest()
    finally:
        source.close()


@pytest.mark.django_db(transaction=True)  # the district is committed, as a real database is
def test_a_drill_replays_into_a_copy_and_never_touches_the_original(settings, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the copy through the backup API is SQLite's; PostgreSQL copies with TEMPLATE")
    settings.VAR_DIR = str(tmp_path)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    district.ensure_demo_district(scale="test", seed=5, progress=False)
    original = str(settings.DATABASES["default"]["NAME"])
    before = _fingerprint(original)

    copy = drill.copy_database(stamp="20220314-101500")
    assert copy.vendor == "sqlite" and copy.name == str(tmp_path / "drill-20220314-101500.sqlite3")
    assert _fingerprint(copy.name) == before  # a faithful copy
    env = {**drill.drill_environment(copy), "EPIGRID_VAR_DIR": str(tmp_path)}
    assert env["EPIGRID_DRILL"] == "1" and env["EPIGRID_DATABASE_URL"] == copy.url
    done = subprocess.run(
        [sys.executable, "-m", "epigrid.cli", "drill", "--in-copy", "--days", "6", "--seeds", "8", "--seed", "2",
         "--speed", "1e9"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["days"] == 6 and len(summary["per_day"]) == 6
    assert summary["cases"] == summary["released"] > 0, summary

    assert _fingerprint(original) == before  # the production database did not change at all
    copied = sqlite3.connect(copy.name)
    try:
        drill_events = dict(
            copied.execute(
                "SELECT type, count(*) FROM core_event WHERE type LIKE 'drill.%' GROUP BY type"
            ).fetchall()
        )
        assert drill_events == {"drill.started": 1, "drill.day": 6, "drill.finished": 1}
        positives = copied.execute(
            "SELECT payload FROM core_event WHERE type = 'specimen.positive'"
        ).fetchall()
        assert len(positives) >= summary["cases"]
        assert any(json.loads(p).get("drill") is True for (p,) in positives)
        cases = copied.execute("SELECT count(*) FROM investigation_case").fetchone()[0]
        assert cases >= summary["cases"]
    finally:
        copied.close()
