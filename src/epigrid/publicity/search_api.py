"""``GET /api/v1/policy-search?q=``: the policy search for programs (a WeChat mini-program, a hotline
agent's screen). Public: it answers from what the public may read (a signed-in session's resident also from
announcements addressed to their area), the top five passages with plain-text snippets. A question with
nothing to search for, or that nothing answers, is an empty list with a message, not an error.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from epigrid.core import ratelimit
from epigrid.core.middleware import client_ip
from epigrid.core.schemas import ErrorOut
from epigrid.publicity import search

router = Router(tags=["publicity"])
TOP = 5
PER_MINUTE = 60  # per address, like the page


class PassageOut(Schema):
    source_type: str  # "announcement" or "faq"
    source_id: int
    title: str  # the announcement's title or the FAQ question
    heading: str
    snippet: str  # plain text; "…" where the passage was cut
    score: float
    url: str


class PolicySearchOut(Schema):
    query: str
    items: list[PassageOut]
    message: str  # why there is nothing, when items is empty


@router.get("policy-search", auth=None, response={200: PolicySearchOut, 429: ErrorOut})
def policy_search(request: HttpRequest, q: str = ""):
    """The passages of published policies and FAQ entries that best answer ``q`` (BM25 over Chinese words)."""
    if not ratelimit.hit("policy-search", client_ip(request), limit=PER_MINUTE):
        return Status(429, {"detail": _("Too many searches from your network; wait a minute.")})
    viewer = request.user if request.user.is_authenticated else None
    result = search.search(q, viewer=viewer, limit=TOP)
    items = [
        {
            "source_type": hit.source,
            "source_id": hit.source_id,
            "title": hit.title,
            "heading": hit.heading,
            "snippet": hit.snippet,
            "score": hit.score,
            "url": hit.url,
        }
        for hit in result.hits
    ]
    return {"query": result.query, "items": items, "message": str(result.message)}
