"""Ranking: BM25 (k1 1.2, b 0.75) over the passages the viewer may read *now*, an FAQ-question boost, a floor
on how much of the question a passage must share, and snippets with the matched words marked.

Visibility is decided per query from the announcements themselves (approved, publication time reached, not
expired, audience: ``publicity.selectors.public_announcements``), so an expired announcement is never
answered even before any job noticed it expired.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from epigrid.publicity.models import SearchPassage
from epigrid.publicity.search import index as passage_index
from epigrid.publicity.search.index import Entry
from epigrid.publicity.search.words import SURFACES, normalise, word_groups

K1 = 1.2
B = 0.75
FAQ_BOOST = 1.0  # score × (1 + FAQ_BOOST × share of the query's weight found in the FAQ question)
MIN_SHARE = 0.3  # a passage must carry at least this share of the question's weight (idf) to be answered
MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 140


@dataclass(frozen=True)
class Hit:
    passage_id: int
    source: str  # "announcement" or "faq"
    source_id: int
    title: str
    heading: str
    heading_html: SafeString  # the heading (an FAQ entry's question) with the matched words in <mark>
    snippet_html: SafeString  # escaped text, the matched words in <mark>
    snippet: str  # the same as plain text
    score: float
    url: str


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    message: str | Promise = ""  # why there is nothing to show (empty, no words, no match)


def _visible_ids(viewer: object | None) -> tuple[set[int], set[int]]:
    from epigrid.publicity.selectors_consult import faqs_public, searchable_announcements

    announcements = set(searchable_announcements(viewer=viewer).values_list("pk", flat=True))
    return announcements, set(faqs_public().values_list("pk", flat=True))


def _source_url(passage: SearchPassage) -> str:
    if passage.faq_id is not None:
        return f"{reverse('announcements:ask')}#faq-{passage.faq_id}"
    try:
        return reverse("announcements:detail", args=[passage.announcement_id])
    except NoReverseMatch:  # the public detail page's name, should it change
        return f"{reverse('announcements:list')}#a-{passage.announcement_id}"


def _normalised_chars(text: str) -> str:
    """``normalise`` character by character so that positions in the result are positions in ``text``."""
    out = []
    for ch in text:
        norm = normalise(ch)
        out.append(norm if len(norm) == 1 else ch.lower()[:1] or ch)
    return "".join(out)


def _marks(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of the terms in ``text``, longest terms first."""
    haystack = _normalised_chars(text)
    taken: list[tuple[int, int]] = []
    for term in sorted(set(terms), key=len, reverse=True):
        start = haystack.find(term)
        while start >= 0:
            end = start + len(term)
            if all(end <= s or start >= e for s, e in taken):
                taken.append((start, end))
            start = haystack.find(term, end)
    return sorted(taken)


def _window(length: int, marks: list[tuple[int, int]]) -> tuple[int, int]:
    """Where a snippet of a ``length``-character text starts and ends: the stretch holding the most marks,
    opening a little before the first of them."""
    if length <= SNIPPET_CHARS:
        return 0, length
    best_start, best_count = 0, -1
    for s, _e in marks:
        begin = min(max(s - 20, 0), length - SNIPPET_CHARS)
        count = sum(1 for ms, me in marks if ms >= begin and me <= begin + SNIPPET_CHARS)
        if count > best_count:
            best_start, best_count = begin, count
    return best_start, best_start + SNIPPET_CHARS


def highlight(text: str, terms: Iterable[str], *, limit: bool = True) -> tuple[SafeString, str]:
    """``text`` (cut to the stretch of about 140 characters with the most matched words when ``limit``) as
    escaped HTML with the words in <mark>, and the same stretch as plain text. A CJK character alone is not
    marked: it would light up half a line."""
    wanted = [t for t in terms if len(t) > 1 or t.isascii()]
    marks = _marks(text, wanted)
    start, end = _window(len(text), marks) if limit else (0, len(text))
    parts, cursor = [], start
    for s, e in marks:
        if s < start or e > end:
            continue
        parts.append(html.escape(text[cursor:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    parts.append(html.escape(text[cursor:end]))
    before, after = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    # Every piece of user text went through html.escape above; only our own <mark> tags are markup.
    return mark_safe(before + "".join(parts) + after), f"{before}{text[start:end]}{after}"


def search(query: str, *, viewer: object | None = None, limit: int = 5) -> SearchResult:
    """The passages that best answer ``query`` for ``viewer`` (None: the public), best first."""
    query = (query or "").strip()[:MAX_QUERY_CHARS]
    if not query:
        return SearchResult(query, [], _("Type your question about a policy."))
    groups = word_groups(query)
    words = list(dict.fromkeys(token for group in groups for token in group))
    if not words:
        return SearchResult(query, [], _("The question has no words to search for; ask in words."))
    index = passage_index.current()
    announcement_ids, faq_ids = _visible_ids(viewer)

    def visible(entry: Entry) -> bool:
        if entry.faq_id is not None:
            return entry.faq_id in faq_ids
        return entry.announcement_id in announcement_ids

    shown = [visible(entry) for entry in index.entries]
    total = sum(shown)
    if total == 0:
        return SearchResult(query, [], _("Nothing published answers this yet; ask the hotline below."))
    average = sum(e.length for e, ok in zip(index.entries, shown, strict=True) if ok) / total or 1.0
    idf: dict[str, float] = {}
    weights: dict[str, float] = {}  # what each token weighs when judging how much of the question is answered
    for word in words:
        df = sum(1 for i in index.postings.get(word, ()) if shown[i])
        idf[word] = math.log(1 + (total - df + 0.5) / (df + 0.5))
        # A word found nowhere weighs as a rare word would (df 1), not more: what the reader asked about but
        # nothing mentions counts against a passage that shares the rest. A lone character found nowhere
        # says too little to count.
        rare = math.log(1 + (total - 0.5) / 1.5)
        weights[word] = idf[word] if df else (rare if len(word) > 1 else 0.0)

    def share(has: Callable[[str], bool]) -> float:
        """The weight of the question's words that ``has`` finds (each word once, by its best part)."""
        return sum(max((weights[w] for w in group if has(w)), default=0.0) for group in groups)

    whole = share(lambda _w: True)
    if whole <= 0:
        return SearchResult(
            query, [], _("No published policy or FAQ answers this; try other words or ask the hotline.")
        )

    scores: dict[int, float] = {}
    for word in words:
        for i in index.postings.get(word, ()):
            if not shown[i]:
                continue
            entry = index.entries[i]
            tf = entry.tf[word]
            norm = K1 * (1 - B + B * entry.length / average)
            scores[i] = scores.get(i, 0.0) + idf[word] * tf * (K1 + 1) / (tf + norm)
    ranked: list[tuple[float, int]] = []
    for i, score in scores.items():
        entry = index.entries[i]
        if share(entry.tf.__contains__) < MIN_SHARE * whole:
            continue
        if entry.heading_terms:
            score *= 1 + FAQ_BOOST * share(entry.heading_terms.__contains__) / whole
        ranked.append((score, i))
    ranked.sort(key=lambda pair: (-pair[0], index.entries[pair[1]].pk))
    top = ranked[: max(limit, 0)]
    if not top:
        return SearchResult(
            query, [], _("No published policy or FAQ answers this; try other words or ask the hotline.")
        )
    rows = SearchPassage.objects.select_related("announcement", "faq").in_bulk(
        [index.entries[i].pk for _, i in top]
    )
    hits = []
    for score, i in top:
        passage = rows.get(index.entries[i].pk)
        if passage is None:  # rebuilt between the index read and now: the next search has it
            continue
        matched = [s for w in words if w in index.entries[i].tf for s in SURFACES.get(w, [w])]
        marked, plain = highlight(passage.text, matched)
        heading_html, _plain = highlight(passage.heading, matched, limit=False)
        is_faq = passage.faq_id is not None
        hits.append(
            Hit(
                passage_id=passage.pk,
                source="faq" if is_faq else "announcement",
                source_id=passage.faq_id if is_faq else passage.announcement_id,
                title=passage.faq.question if is_faq else passage.announcement.title,
                heading=passage.heading,
                heading_html=heading_html,
                snippet_html=marked,
                snippet=plain,
                score=round(score, 4),
                url=_source_url(passage),
            )
        )
    return SearchResult(query, hits)
