"""The inbox pages: an account's own messages (``/notices/``), opening one (marks it read and follows its
link) and marking all read. Every account has an inbox, residents included; nobody sees anyone else's
(another account's notice answers 404 like a missing one)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.core import notices
from epigrid.core.errors import DomainError
from epigrid.core.htmx import paginate, query_without_page, render_page
from epigrid.core.models import User


@never_cache
@login_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    items = notices.notices_for(user=request.user, unread_only=unread_only)
    context = {
        "page": paginate(request, items),
        "query": query_without_page(request),
        "unread_only": unread_only,
        "unread": notices.unread_count(user=request.user),
    }
    return render_page(request, "core/notices.html", context)


def _safe_target(request: HttpRequest, url: str) -> bool:
    """A notice's link is a path of this site or an http(s) address (``notice_send`` allows nothing else);
    both are checked again here before redirecting."""
    if url.startswith("/") and not url.startswith("//"):
        return url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
    return url.lower().startswith(("http://", "https://"))


@login_required
@require_POST
def notice_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notice read; with ``follow`` go where it links, otherwise back to the inbox."""
    notice = notices.notice_get(user=request.user, pk=pk)
    notices.notice_mark_read(actor=request.user, notice=notice)
    if request.POST.get("follow") and notice.url and _safe_target(request, notice.url):
        return redirect(notice.url)
    return redirect("core:notices")


@login_required
@require_POST
def notice_read_all(request: HttpRequest) -> HttpResponse:
    count = notices.notice_mark_all_read(actor=request.user)
    if count:
        messages.success(request, _("All messages are marked read."))
    return redirect("core:notices")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def notice_settings(request: HttpRequest) -> HttpResponse:
    """Which optional messages the account gets by SMS and email: a checkbox per kind and channel (checked:
    receive). Kinds the law requires are shown checked and locked, with the reason."""
    rows = notices.notice_settings(user=request.user)
    if request.method == "POST":
        changed = 0
        try:
            language = request.POST.get("language", "")
            if language and language != request.user.language:
                notices.notice_language_set(actor=request.user, language=language)
                changed += 1
            for row in rows:
                if row.mandatory:
                    continue
                for setting in row.channels:
                    wanted = request.POST.get(f"on:{row.kind}:{setting.channel}") == "1"
                    if wanted != setting.receiving:
                        changed += notices.notice_opt_out_set(
                            actor=request.user, kind=row.kind, channel=setting.channel, opted_out=not wanted
                        )
        except DomainError as err:
            messages.error(request, err.message)
            return redirect("core:notice_settings")
        messages.success(request, _("Your message settings are saved.") if changed else _("Nothing changed."))
        return redirect("core:notice_settings")
    context = {
        "rows": rows,
        "has_phone": _has_phone(request.user),
        "email": request.user.email,
        "message_languages": settings.LANGUAGES,
        "language": request.user.language,
    }
    return render_page(request, "core/notice_settings.html", context)


def _has_phone(user: User) -> bool:
    return bool(user.person_id and user.person.phone_masked)
