"""The policy search: Chinese words (``words``), passages of published content (``passages``), the in-process
index (``index``) and BM25 ranking with snippets (``ranking``).

**Words.** jieba in search mode without HMM guessing, a domain dictionary, aliases, stop words.

**Passages.** A published announcement's sanitised body is cut into passages by headings and paragraphs
(about 80-300 characters, each with its heading); an FAQ entry is one passage (question + answer).
:func:`passages_rebuild_for` rewrites a source's :class:`SearchPassage` rows; the handlers in
``consult_handlers`` call it when an announcement is approved, goes public or leaves the public pages, the FAQ
services when an entry changes.

**Ranking.** BM25 (k1 1.2, b 0.75) over the passages of what the viewer may read *now*: the counts come from
an in-process inverted index built from the SearchPassage table and rebuilt when the table changes (its row
count and highest id, one indexed aggregate per search, tell every process). Visibility is decided at query
time from the announcements themselves (approved, publish time reached, not expired, audience), so an
expired announcement is never answered even before any job has noticed it expired. A passage whose FAQ
question carries the query's words is boosted; a passage that shares too little of the query is dropped.
"""

from epigrid.publicity.search.passages import (
    PASSAGE_MAX,
    PASSAGE_MIN,
    html_blocks,
    is_indexed,
    passages_rebuild_all,
    passages_rebuild_for,
    plain_text,
    split_passages,
)
from epigrid.publicity.search.ranking import (
    MAX_QUERY_CHARS,
    SNIPPET_CHARS,
    Hit,
    SearchResult,
    highlight,
    search,
)
from epigrid.publicity.search.words import normalise, tokens, word_groups

__all__ = [
    "MAX_QUERY_CHARS",
    "PASSAGE_MAX",
    "PASSAGE_MIN",
    "SNIPPET_CHARS",
    "Hit",
    "SearchResult",
    "highlight",
    "html_blocks",
    "is_indexed",
    "normalise",
    "passages_rebuild_all",
    "passages_rebuild_for",
    "plain_text",
    "search",
    "split_passages",
    "tokens",
    "word_groups",
]
