"""The policy search: Chinese word segmentation, passages of published content, BM25 ranking, snippets.

**Words.** Text is NFKC-normalised (full-width letters and digits become ASCII), Latin lower-cased and cut
by jieba in search mode (a compound word also yields its known parts: 核酸检测 → 核酸, 检测, 核酸检测, so
a question about 核酸 finds a passage about 核酸检测 and the reverse), without its HMM guessing of unknown
words: the guess depends on the neighbouring characters (市场内冷链 → 内冷链), so a query and a passage
would cut the same word differently; unknown words fall apart into known words and characters instead. A small domain dictionary keeps the
field's terms whole (次密接 is not 次 + 密接). Function words, question words and punctuation are dropped.
jieba loads its dictionary once per process, lazily (about half a second), into a tokenizer of our own.

**Passages.** A published announcement's sanitised body is cut into passages by headings and paragraphs
(about 80-300 characters, each with its heading); an FAQ entry is one passage (question + answer).
:func:`passages_rebuild_for` rewrites a source's :class:`SearchPassage` rows; handlers call it when an
announcement is published, updated, withdrawn or expires, the FAQ services when an entry changes.

**Ranking.** BM25 (k1 1.2, b 0.75) over the passages of what the viewer may read *now*: the counts come from
an in-process inverted index built from the SearchPassage table and rebuilt when the table changes (its row
count and highest id, one indexed aggregate per search, tell every process). Visibility is decided at query
time from the announcements themselves (approved, publish time reached, not expired, audience), so an
expired announcement is never answered even before any job has noticed it expired. A passage whose FAQ
question carries the query's words is boosted; a passage that shares too little of the query is dropped.
"""

from __future__ import annotations

import html
import logging
import math
import re
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.db import transaction
from django.db.models import Count, Max
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from epigrid.publicity.models import Announcement, AnnouncementStatus, Faq, SearchPassage

# Kept whole by the segmenter (and their known parts still found in search mode).
DOMAIN_TERMS = (
    "核酸检测",
    "核酸采样",
    "核酸证明",
    "抗原检测",
    "抗原自测",
    "混检",
    "单管",
    "单采",
    "十混一",
    "加强针",
    "第三针",
    "新冠疫苗",
    "疫苗接种",
    "接种禁忌",
    "密接",
    "次密接",
    "密切接触者",
    "次密切接触者",
    "时空伴随者",
    "居家隔离",
    "集中隔离",
    "居家健康监测",
    "健康监测",
    "医学观察",
    "隔离期",
    "解除隔离",
    "健康码",
    "绿码",
    "黄码",
    "红码",
    "转码",
    "行程卡",
    "场所码",
    "风险地区",
    "高风险地区",
    "中风险地区",
    "低风险地区",
    "封控区",
    "管控区",
    "防范区",
    "落地检",
    "报备",
    "返烟",
    "来烟",
    "烟台",
    "发热门诊",
    "加强免疫",
    "新冠病毒疫苗",
    "行程码",
    "养老机构",
)
# Spellings of one thing mapped to one token: residents say 密接, policies write 密切接触者.
ALIASES = {
    "密切接触者": "密接",
    "次密切接触者": "次密接",
    "加强免疫": "加强针",
    "第三针": "加强针",
    "新冠病毒疫苗": "新冠疫苗",
    "抗原自测": "抗原检测",
    "行程码": "行程卡",
    "出门": "外出",
    "养老院": "养老机构",
    "返烟": "来烟",
}
SURFACES: dict[str, list[str]] = {}  # canonical token → the spellings to mark in a snippet
for _surface, _canonical in ALIASES.items():
    SURFACES.setdefault(_canonical, [_canonical]).append(_surface)
_STOP_TEXT = (
    "的 了 和 与 及 或 是 在 吗 呢 吧 啊 呀 哦 嘛 么 着 过 地 得 把 被 让 给 对 向 从 于 以 而 且 但 就 都 也 还 "
    "又 很 才 将 之 其 这 那 这个 那个 这些 那些 我 你 您 他 她 它 我们 你们 他们 咱们 自己 "
    "怎么 怎么办 怎样 怎么样 如何 什么 啥 哪些 哪里 哪儿 为什么 是否 能否 是不是 有没有 可不可以 "
    "请问 一下 一些 有些 想 问 想问 请 谢谢 您好 你好 要 需要 要不要 不要 需不需要 能 能不能 会 会不会 可以 "
    "应该 时候 的话 一个"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
K1 = 1.2
B = 0.75
FAQ_BOOST = 1.0  # score × (1 + FAQ_BOOST × share of the query's weight found in the FAQ question)
MIN_SHARE = 0.3  # a passage must carry at least this share of the question's weight (idf) to be answered
MAX_QUERY_CHARS = 200
PASSAGE_MIN, PASSAGE_MAX = 80, 300
SNIPPET_CHARS = 140

_tokenizer = None
_tokenizer_lock = threading.Lock()


def _segmenter():
    """The process's jieba tokenizer with the domain dictionary, loaded on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                with warnings.catch_warnings():  # its regexes are old-style strings (invalid escapes)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    import jieba

                jieba.setLogLevel(logging.WARNING)  # it logs the dictionary load at INFO otherwise
                made = jieba.Tokenizer()
                made.initialize()
                for term in DOMAIN_TERMS:
                    made.add_word(term)  # frequency suggested by jieba: high enough to keep the term whole
                _tokenizer = made
    return _tokenizer


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def word_groups(text: str) -> list[list[str]]:
    """The words of ``text``, each with its known parts: jieba's search mode spelled out (the word, and its
    two- and three-character pieces that are dictionary words), aliases mapped to their canonical form,
    stop words and punctuation out. The grouping tells the search which tokens say the same thing."""
    cleaned = normalise(text)
    if not cleaned.strip():
        return []
    segmenter = _segmenter()
    groups = []
    for raw in segmenter.cut(cleaned, HMM=False):
        word = raw.strip()
        if not word or not _is_word(word) or word in STOP_WORDS:
            continue
        parts = [ALIASES.get(word, word)]
        for size in (2, 3):
            if len(word) > size:
                parts += [
                    word[i : i + size]
                    for i in range(len(word) - size + 1)
                    if segmenter.FREQ.get(word[i : i + size])
                ]
        kept = [ALIASES.get(part, part) for part in parts if part not in STOP_WORDS]
        groups.append(list(dict.fromkeys(kept)))
    return groups


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` for indexing and for queries (every word and its known parts)."""
    return [token for group in word_groups(text) for token in group]


# --- passages ---------------------------------------------------------------------------------------------------


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
    _index.forget()
    return len(rows)


def passages_rebuild_all() -> int:
    """Every source's passages again (the demo, after a change of the dictionary)."""
    count = 0
    for announcement in Announcement.objects.all().iterator():
        count += passages_rebuild_for(announcement)
    for faq in Faq.objects.all().iterator():
        count += passages_rebuild_for(faq)
    return count


# --- the index --------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    pk: int
    announcement_id: int | None
    faq_id: int | None
    length: int
    tf: Counter
    heading_terms: frozenset[str]


@dataclass
class _Index:
    stamp: tuple[int, int] | None = None
    entries: list[_Entry] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)  # term → positions in ``entries``
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forget(self) -> None:
        self.stamp = None

    def current(self) -> _Index:
        """Rebuilt from the table when its row count or highest id moved (a rebuild always deletes or adds
        rows, and ids are never reused), so a change made by any process is seen at its next search."""
        facts = SearchPassage.objects.aggregate(n=Count("pk"), top=Max("pk"))
        stamp = (facts["n"] or 0, facts["top"] or 0)
        if stamp != self.stamp:
            with self.lock:
                if stamp != self.stamp:
                    self._build(stamp)
        return self

    def _build(self, stamp: tuple[int, int]) -> None:
        entries: list[_Entry] = []
        postings: dict[str, list[int]] = {}
        heading_terms: dict[str, frozenset[str]] = {}
        rows = SearchPassage.objects.values_list(
            "pk", "announcement_id", "faq_id", "length", "terms", "heading"
        )
        for pk, announcement_id, faq_id, length, terms, heading in rows.iterator(chunk_size=2000):
            if faq_id is not None and heading not in heading_terms:
                heading_terms[heading] = frozenset(tokens(heading))
            tf = Counter(terms.split())
            for term in tf:
                postings.setdefault(term, []).append(len(entries))
            entries.append(
                _Entry(pk, announcement_id, faq_id, length, tf, heading_terms.get(heading, frozenset()))
            )
        self.entries, self.postings, self.stamp = entries, postings, stamp


_index = _Index()


# --- search -----------------------------------------------------------------------------------------------------


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
    index = _index.current()
    announcement_ids, faq_ids = _visible_ids(viewer)

    def visible(entry: _Entry) -> bool:
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
