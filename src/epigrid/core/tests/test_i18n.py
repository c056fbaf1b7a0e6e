"""The zh-Hans catalogue: complete, placeholders intact, compiled, and served by default (English on request)."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"

# %(name)s, %(n)d, %s, %d (flags and width allowed, but not "% s": that is prose like "50% sure"), {...}.
PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0+]*\d*(?:\.\d+)?[sdifrxXeEgGcuo]|%[-#0+]*\d*(?:\.\d+)?[sdifrxXeEgGcuo]|\{[^{}]*\}"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def parse_po(path: Path) -> tuple[Entry, list[Entry]]:
    """A small PO reader: header and entries, multi-line strings joined, obsolete (#~) entries skipped."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and target is not None:
                finish()  # a comment after a msgstr starts the next entry
            if line.startswith("#,"):
                entry = entry or Entry(line=number)
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert entry is not None and target is not None, f"{path}:{number}: continuation without keyword"
            keyword, rest = "", line
        else:
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()  # no blank line between two entries
            entry = entry or Entry(line=number)
        value = ast.literal_eval(rest)
        assert isinstance(value, str), f"{path}:{number}: not a string literal"
        if keyword == "":
            kind, index = target
        elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            kind, index = keyword, 0
        elif m := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
            kind, index = "msgstr", int(m.group(1))
        else:
            raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
        target = (kind, index)
        if kind == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
        else:
            setattr(entry, kind, (getattr(entry, kind) or "") + value)
    finish()
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    return header, [e for e in entries if e is not header]


def header_fields(header: Entry) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def label(entry: Entry) -> str:
    return f"{ZH_PO.name}:{entry.line} {entry.msgid!r}"


@pytest.fixture(scope="module")
def zh() -> tuple[Entry, list[Entry]]:
    return parse_po(ZH_PO)


# --- the catalogue itself -------------------------------------------------------------------------


def test_parser_reads_a_real_catalogue(zh):
    _header, entries = zh
    assert len(entries) > 100
    assert any(e.msgid_plural for e in entries)
    assert len({(e.msgctxt, e.msgid) for e in entries}) == len(entries), "duplicate msgid"


def test_headers_are_valid(zh):
    header, _entries = zh
    fields = header_fields(header)
    assert "fuzzy" not in header.flags
    assert fields["Language"] == "zh_Hans"
    assert "charset=UTF-8" in fields["Content-Type"]
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"

    en_header, _en_entries = parse_po(EN_PO)
    en_fields = header_fields(en_header)
    assert en_fields["Language"] == "en"
    assert "charset=UTF-8" in en_fields["Content-Type"]
    assert en_fields["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"


def test_every_entry_is_translated_and_not_fuzzy(zh):
    _header, entries = zh
    untranslated = [
        label(e) for e in entries if not e.msgstr or not all(s.strip() for s in e.msgstr.values())
    ]
    fuzzy = [label(e) for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_chinese_has_a_single_plural_form(zh):
    _header, entries = zh
    wrong = [label(e) for e in entries if e.msgid_plural is not None and set(e.msgstr) != {0}]
    assert not wrong, f"plural entries need exactly msgstr[0] for zh-Hans: {wrong}"


def test_placeholders_survive_translation(zh):
    _header, entries = zh
    wrong = []
    for e in entries:
        wanted = placeholders(e.msgid)
        if e.msgid_plural is not None:
            # The single Chinese form may drop nothing that either English form carries.
            wanted = placeholders(e.msgid) | placeholders(e.msgid_plural)
        for index, text in e.msgstr.items():
            if placeholders(text) != wanted:
                wrong.append(f"{label(e)} msgstr[{index}]: {sorted(placeholders(text))} != {sorted(wanted)}")
    assert not wrong, "\n".join(wrong)


def test_placeholder_pattern():
    assert placeholders("%(n)d of %(total)s, %s and %d; {count} {}") == {
        "%(n)d",
        "%(total)s",
        "%s",
        "%d",
        "{count}",
        "{}",
    }
    assert placeholders("50% sure, 100%") == set()


def test_html_tags_survive_translation(zh):
    _header, entries = zh
    tag = re.compile(r"</?[a-zA-Z][^>]*>")
    wrong = [
        label(e)
        for e in entries
        for text in e.msgstr.values()
        if sorted(tag.findall(text)) != sorted(tag.findall(e.msgid))
    ]
    assert not wrong, f"HTML tags differ: {wrong}"


def test_translations_are_chinese(zh):
    """A msgstr left in English (copied msgid) is a missed translation; brand names are the exception."""
    _header, entries = zh
    allowed = {"EpiGrid"}
    wrong = [
        label(e)
        for e in entries
        if e.msgid not in allowed and not any(CJK.search(text) for text in e.msgstr.values())
    ]
    assert not wrong, f"no Chinese in: {wrong}"


# --- the compiled catalogue -----------------------------------------------------------------------


def test_mo_is_compiled_from_the_current_po(zh):
    # A fresh checkout may write the .mo a moment before the .po; allow a little slack.
    assert ZH_MO.exists(), "run compilemessages"
    assert ZH_MO.stat().st_mtime >= ZH_PO.stat().st_mtime - 2, "django.mo is older than django.po"

    _header, entries = zh
    with ZH_MO.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    assert mo.info().get("language") == "zh_Hans"
    stale = []
    for e in entries:
        if e.msgid_plural is not None:
            got = {
                n: mo.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                if e.msgctxt
                else mo.ngettext(e.msgid, e.msgid_plural, n)
                for n in (1, 2)
            }
            if set(got.values()) != {e.msgstr[0]}:
                stale.append(label(e))
        else:
            got = mo.pgettext(e.msgctxt, e.msgid) if e.msgctxt else mo.gettext(e.msgid)
            if got != e.msgstr[0]:
                stale.append(label(e))
    assert not stale, f"django.mo does not match django.po (recompile): {stale}"


# --- what the pages show --------------------------------------------------------------------------


def _msgstr(entries: list[Entry], msgid: str) -> str:
    return next(e.msgstr[0] for e in entries if e.msgid == msgid and e.msgctxt is None)


def test_login_page_is_chinese_by_default_and_english_on_request(db, zh):
    _header, entries = zh
    sign_in_zh = _msgstr(entries, "Sign in")
    password_zh = _msgstr(entries, "Password")
    url = reverse("core:login")

    client = Client()
    html = client.get(url).content.decode()
    assert 'lang="zh-hans"' in html
    assert f"<h1>{sign_in_zh}</h1>" in html
    assert password_zh in html
    assert "<h1>Sign in</h1>" not in html

    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(url).content.decode()
    assert 'lang="en"' in html
    assert "<h1>Sign in</h1>" in html
    assert "Password" in html
    assert f"<h1>{sign_in_zh}</h1>" not in html
