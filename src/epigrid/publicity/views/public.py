"""The public announcement pages (no login needed): the list (category filter, pinned first, today's marked),
one announcement, its files, and the Atom feed.

A signed-in resident or staff member also sees what is addressed to their area (``publicity.selectors``);
the feed shows only what is for everyone. Anything one may not read answers 404 like a missing page.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from epigrid.core.htmx import paginate, query_without_page, render_page
from epigrid.core.models import User
from epigrid.publicity import selectors
from epigrid.publicity.feed import atom_feed, updated_of
from epigrid.publicity.models import Category
from epigrid.publicity.sanitize import clean_html, html_text

PER_PAGE = 20


def _viewer(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated else None


def base_url(request: HttpRequest) -> str:
    """This site's absolute address for links that leave the page (feed, API): PUBLIC_URL when set."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


@require_GET
def public_list(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    now = timezone.now()
    items = selectors.public_announcements(viewer=_viewer(request), now=now, category=category)
    page = paginate(request, items.defer("body_html"), per_page=PER_PAGE)
    for item in page.object_list:
        item.is_today = selectors.is_today(item.shown_at, now)
    context = {
        "page": page,
        "query": query_without_page(request),
        "category": category,
        "categories": Category.choices,
        "today": timezone.localdate(now),
    }
    response = render_page(request, "publicity/public_list.html", context, partial="items")
    patch_vary_headers(response, ("Cookie",))
    return response


@require_GET
def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = selectors.public_announcement_get(viewer=_viewer(request), pk=pk)  # 404 if not for them
    updated = updated_of(announcement)
    files = list(selectors.attachments_of(announcement).filter(is_image=False))
    context = {
        "a": announcement,
        # Cleaned again on the way out: what an older, looser cleaner let through is not shown either.
        "body": clean_html(announcement.body_html),
        "updated": updated if updated > announcement.shown_at else None,
        "is_today": selectors.is_today(announcement.shown_at),
        "files": files,
        "audience": list(announcement.audience.order_by("code")),
        "description": announcement.summary or html_text(announcement.body_html)[:120],
    }
    return render_page(request, "publicity/public_detail.html", context)


@require_GET
def public_file(request: HttpRequest, pk: int) -> HttpResponse:
    """An attachment as stored, with its own type; downloads for documents, inline for images. Only files of
    an announcement the visitor may read (or, for its editors, of one they are preparing)."""
    attachment = selectors.public_attachment_get(viewer=_viewer(request), pk=pk)
    response = HttpResponse(bytes(attachment.data), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(not attachment.is_image, attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    # Whatever a file holds, it never runs as a page of this site.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    patch_cache_control(response, private=True, max_age=300)
    return response


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    """The Atom feed of the 50 announcements for everyone, in the list's order."""
    items = selectors.public_announcements(viewer=None)[:50]
    body = atom_feed(items, base_url=base_url(request), title=_("Epidemic announcements"))
    response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=60)
    return response
