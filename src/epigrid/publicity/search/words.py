"""Words of Chinese text for the policy search: jieba with a domain dictionary, aliases and stop words.

Text is NFKC-normalised (full-width letters and digits become ASCII), Latin lower-cased and cut by jieba in
search mode (a compound word also yields its known parts: 核酸检测 → 核酸, 检测, 核酸检测, so a question
about 核酸 finds a passage about 核酸检测 and the reverse), without its HMM guessing of unknown words: the
guess depends on the neighbouring characters (市场内冷链 → 内冷链), so a query and a passage would cut the
same word differently; unknown words fall apart into known words and characters instead. A small domain
dictionary keeps the field's terms whole (次密接 is not 次 + 密接), aliases make one token of two spellings
(密接, 密切接触者). Function words, question words and punctuation are dropped. jieba loads its dictionary
once per process, lazily (about half a second), into a tokenizer of our own.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
import warnings

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
