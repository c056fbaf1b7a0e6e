"""The process's inverted index of the search passages, built from the SearchPassage table.

Rebuilt when this process changed passages or when the table's row count or highest id moved (one indexed
aggregate per search), so a change made by any server process is seen at its next search; a build is a new
snapshot swapped in whole, so a search never reads half of one.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Max

from epigrid.publicity.models import SearchPassage
from epigrid.publicity.search.words import tokens


@dataclass
class Entry:
    pk: int
    announcement_id: int | None
    faq_id: int | None
    length: int
    tf: Counter
    heading_terms: frozenset[str]


@dataclass(frozen=True)
class Snapshot:
    """One build of the index; a search holds on to the snapshot it started with."""

    stamp: tuple[int, int] | None = None
    entries: list[Entry] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)  # term → positions in ``entries``


def _build(stamp: tuple[int, int]) -> Snapshot:
    entries: list[Entry] = []
    postings: dict[str, list[int]] = {}
    heading_terms: dict[str, frozenset[str]] = {}
    rows = SearchPassage.objects.values_list("pk", "announcement_id", "faq_id", "length", "terms", "heading")
    for pk, announcement_id, faq_id, length, terms, heading in rows.iterator(chunk_size=2000):
        if faq_id is not None and heading not in heading_terms:
            heading_terms[heading] = frozenset(tokens(heading))
        tf = Counter(terms.split())
        for term in tf:
            postings.setdefault(term, []).append(len(entries))
        entries.append(
            Entry(pk, announcement_id, faq_id, length, tf, heading_terms.get(heading, frozenset()))
        )
    return Snapshot(stamp, entries, postings)


class _Index:
    """The process's inverted index of the passages, swapped whole when rebuilt (readers never see half)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.stale = True
        self.lock = threading.Lock()

    def forget(self) -> None:
        """This process changed passages: rebuild at the next search whatever the table's figures say."""
        self.stale = True

    def current(self) -> Snapshot:
        """Rebuilt when this process changed passages or the table's row count or highest id moved (a rebuild
        always deletes or adds rows, and ids are not reused), so a change made by any process is seen at its
        next search."""
        facts = SearchPassage.objects.aggregate(n=Count("pk"), top=Max("pk"))
        stamp = (facts["n"] or 0, facts["top"] or 0)
        snapshot = self.snapshot
        if self.stale or stamp != snapshot.stamp:
            with self.lock:
                snapshot = self.snapshot
                if self.stale or stamp != snapshot.stamp:
                    self.stale = False  # before building: a change during the build marks it stale again
                    snapshot = self.snapshot = _build(stamp)
        return snapshot


_index = _Index()


def current() -> Snapshot:
    return _index.current()


def forget() -> None:
    _index.forget()
