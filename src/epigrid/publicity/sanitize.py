"""The one place announcement HTML is made safe: an allow-list cleaner built on nh3 (ammonia).

Editors paste from Word and web pages; what is stored and shown is only the markup below. Scripts and styles
go with their content, event handlers and unknown attributes go, links keep http(s), mailto, tel and
relative URLs (nh3 decodes entities and ignores case and whitespace before judging a scheme, so
``JaVaScRiPt:``, ``&#106;avascript:`` and ``java\tscript:`` are all dropped), and every link gets
``rel="noopener noreferrer"``. Images are shown only from this site's attachment URLs: an external image
would be a tracking pixel and would not load on a phone without internet, so it is removed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3
from django.conf import settings

TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "u", "a", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "img", "figure", "figcaption", "span", "div", "hr",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Removed with everything inside them (other unknown tags are unwrapped: their text stays).
DROP_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math"}

ATTACHMENT_PATH = re.compile(r"^/announcements/files/\d+$")
_NUMBER = re.compile(r"^\d{1,4}$")
# nh3's output quotes every attribute with " and escapes " < > inside values, so an <img> tag is exactly this.
_IMG_TAG = re.compile(r'<img(?:\s+[a-z-]+(?:="[^"]*")?)*\s*/?>')


def _local_image(value: str) -> str | None:
    """The attachment path an ``img src`` may point to, or None. A full URL of this site (PUBLIC_URL) is
    cut to its path; any other host is refused."""
    value = value.strip()
    base = getattr(settings, "PUBLIC_URL", "")
    if base and value.startswith(base + "/"):
        value = value[len(base) :]
    return value if ATTACHMENT_PATH.match(value) else None


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return _local_image(value)
    if attribute in ("width", "height", "colspan", "rowspan"):
        return value if _NUMBER.match(value.strip()) else None
    return value


def _drop_sourceless_images(html: str) -> str:
    return _IMG_TAG.sub(lambda m: m.group(0) if ' src="' in m.group(0) else "", html)


def clean_html(html: str) -> str:
    """``html`` reduced to the allowed markup (see the module's description)."""
    if not html:
        return ""
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return _drop_sourceless_images(cleaned).strip()


class _Text(HTMLParser):
    BLOCKS = {"p", "br", "h2", "h3", "h4", "li", "blockquote", "tr", "td", "th", "div", "figcaption", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in DROP_WITH_CONTENT:
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT and self._skip:
            self._skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The plain text of HTML (blocks separated by a space), for summaries and the feed."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()
