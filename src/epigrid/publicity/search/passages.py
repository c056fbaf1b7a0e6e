"""Passages: what the search answers with. A published announcement's sanitised body is cut by headings and
paragraphs (about 80-300 characters, each with its heading); an FAQ entry is one passage (question + answer).
:func:`passages_rebuild_for` rewrites a source's :class:`SearchPassage` rows with their words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.db import transaction

from epigrid.publicity.models import Announcement, AnnouncementStatus, Faq, SearchPassage
from epigrid.publicity.search.index import forget
from epigrid.publicity.search.words import tokens

PASSAGE_MIN, PASSAGE_MAX = 80, 300


_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "p",
    "li",
    "div",
    "blockquote",
    "tr",
    "section",
    "article",
    "pre",
    "dt",
    "dd",
    "figcaption",
    "table",
    "ul",
    "ol",
    "br",
    "hr",
}
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


class _BlockReader(HTMLParser):
    """Sanitised HTML → [(is_heading, text)] in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[bool, str]] = []
        self._parts: list[str] = []
        self._heading_depth = 0

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._parts)).strip()
        self._parts = []
        if text:
            self.blocks.append((self._heading_depth > 0, text))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCKS:
            self._flush()
        if tag in _HEADINGS:
            self._heading_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._flush()
        if tag in _HEADINGS:
            self._heading_depth = max(self._heading_depth - 1, 0)

    def handle_data(self, data: str) -> None:
        self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(body_html: str) -> list[tuple[bool, str]]:
    reader = _BlockReader()
    reader.feed(body_html or "")
    reader.close()
    return reader.blocks


def plain_text(body_html: str) -> str:
    return "\n".join(text for _, text in html_blocks(body_html))


def _pieces(text: str) -> list[str]:
    """A paragraph longer than a passage, cut after sentence ends (a very long sentence cut hard)."""
    if len(text) <= PASSAGE_MAX:
        return [text]
    out: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s):
        while len(sentence) > PASSAGE_MAX:
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:PASSAGE_MAX])
            sentence = sentence[PASSAGE_MAX:]
        if current and len(current) + len(sentence) > PASSAGE_MAX:
            out.append(current)
            current = ""
        current += sentence
    if current:
        out.append(current)
    return out


def split_passages(title: str, body_html: str) -> list[tuple[str, str]]:
    """(heading, text) passages of an announcement: a heading starts a new passage; paragraphs under one
    heading are joined while the passage stays under 300 characters, and a passage shorter than 80 takes the
    next paragraph in; passages before any heading carry the title as their heading."""
    passages: list[tuple[str, str]] = []
    heading = title
    current: list[str] = []

    def flush() -> None:
        if current:
            passages.append((heading, "\n".join(current)))
            current.clear()

    for is_heading, text in html_blocks(body_html):
        if is_heading:
            flush()
            heading = text[:300]
            continue
        for piece in _pieces(text):
            size = sum(len(p) for p in current)
            if current and size >= PASSAGE_MIN and size + len(piece) > PASSAGE_MAX:
                flush()
            current.append(piece)
    flush()
    return passages


def _passage_row(heading: str, text: str, position: int, **source: object) -> SearchPassage:
    words = tokens(f"{heading}\n{text}")
    return SearchPassage(
        position=position, heading=heading, text=text, terms=" ".join(words), length=len(words), **source
    )


def is_indexed(source: Announcement | Faq) -> bool:
    """Whether the source has passages at all (visibility in time and audience is decided per query)."""
    if isinstance(source, Faq):
        return source.published
    return source.status == AnnouncementStatus.APPROVED


@transaction.atomic
def passages_rebuild_for(source: Announcement | Faq) -> int:
    """Rewrite the passages of one announcement or FAQ entry from its current row; returns how many.

    Derived data, like a search index: not audited (the change of the source is). An announcement that is
    not approved (draft, withdrawn...), an unpublished or deleted FAQ entry keep no passages."""
    if isinstance(source, Faq):
        SearchPassage.objects.filter(faq_id=source.pk).delete()
        faq = Faq.objects.filter(pk=source.pk).first()
        rows = []
        if faq is not None and is_indexed(faq):
            rows = [_passage_row(faq.question, plain_text(faq.answer_html), 0, faq=faq)]
    else:
        SearchPassage.objects.filter(announcement_id=source.pk).delete()
        announcement = Announcement.objects.filter(pk=source.pk).first()
        rows = []
        if announcement is not None and is_indexed(announcement):
            rows = [
                _passage_row(heading, text, i, announcement=announcement)
                for i, (heading, text) in enumerate(
                    split_passages(announcement.title, announcement.body_html)
                )
            ]
    SearchPassage.objects.bulk_create(rows)
    forget()
    return len(rows)


def passages_rebuild_all() -> int:
    """Every source's passages again (the demo, after a change of the dictionary)."""
    count = 0
    for announcement in Announcement.objects.all().iterator():
        count += passages_rebuild_for(announcement)
    for faq in Faq.objects.all().iterator():
        count += passages_rebuild_for(faq)
    return count
