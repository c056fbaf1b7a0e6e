"""The editors' and reviewers' pages: the list by status, the form with its rich-text editor, the preview
with the workflow's actions and the attachments, the versions (view, restore) and the review queue.

Writing needs ``publicity.edit``; reviewing ``publicity.review``; the preview and the versions either (403
otherwise). Announcements of another area answer 404 (``publicity.selectors``). Refusals of the services
are shown on the page with their status (400, 409); a ``Forbidden`` is the 403 page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from epigrid.core.errors import DomainError, Forbidden
from epigrid.core.htmx import paginate, query_without_page, render_page, staff_page
from epigrid.core.models import User
from epigrid.core.roles import Perm, has_perm
from epigrid.publicity import selectors
from epigrid.publicity.forms import AnnouncementForm, AttachmentForm, SendBackForm
from epigrid.publicity.models import Announcement, AnnouncementStatus, Category
from epigrid.publicity.sanitize import clean_html
from epigrid.publicity.services import announcements as service

Status = AnnouncementStatus
EDIT, REVIEW = Perm.PUBLICITY_EDIT, Perm.PUBLICITY_REVIEW
ALL = "all"


def _refusal(err: DomainError) -> None:
    if isinstance(err, Forbidden):
        raise PermissionDenied(err.message) from None


# --- list and form -----------------------------------------------------------------------------------------------


@never_cache
@staff_page(EDIT)
@require_GET
def manage_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    status = request.GET.get("status", ALL)
    if status not in (*Status.values, ALL):
        status = ALL
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    counts = selectors.status_counts(actor=user)
    items = selectors.staff_announcements(
        actor=user, status="" if status == ALL else status, category=category
    )
    context = {
        "status": status,
        "category": category,
        "categories": Category.choices,
        "tabs": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
        "total": sum(counts.values()),
        "page": paginate(request, items),
        "query": query_without_page(request),
    }
    return render_page(request, "publicity/manage_list.html", context, partial="rows")


def _form_page(
    request: HttpRequest, form: AnnouncementForm, announcement: Announcement | None, *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "a": announcement,
        "attachments": list(selectors.attachments_of(announcement)) if announcement else [],
        "public_now": announcement is not None and announcement.status == Status.APPROVED,
    }
    return render_page(request, "publicity/manage_form.html", context, status=status)


def _save(request: HttpRequest, form: AnnouncementForm, announcement: Announcement | None) -> HttpResponse:
    user: User = request.user
    if not form.is_valid():
        return _form_page(request, form, announcement, status=400)
    try:
        if announcement is None:
            announcement = service.announcement_create(
                actor=user, data=form.to_input(), note=form.cleaned_data.get("note") or ""
            )
        else:
            was_public = announcement.status == Status.APPROVED
            service.announcement_update(
                actor=user,
                announcement=announcement,
                data=form.to_input(),
                base_version=form.cleaned_data.get("base_version"),
                note=form.cleaned_data.get("note") or "",
            )
            if was_public and announcement.status == Status.DRAFT:
                messages.warning(request, _("Saved. It is off the public pages until it is approved again."))
        if request.POST.get("then") == "submit":
            service.announcement_submit(actor=user, announcement=announcement)
            messages.success(request, _("Saved and sent for review."))
        else:
            messages.success(request, _("Saved as version %(n)d.") % {"n": announcement.version})
    except DomainError as err:
        _refusal(err)
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return _form_page(request, form, announcement, status=err.status)
    return redirect("publicity:announcement", pk=announcement.pk)


@never_cache
@staff_page(EDIT)
@require_http_methods(["GET", "POST"])
def announcement_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    if request.method == "GET":
        return _form_page(request, AnnouncementForm(actor=user), None)
    return _save(request, AnnouncementForm(request.POST, actor=user), None)


@never_cache
@staff_page(EDIT)
@require_http_methods(["GET", "POST"])
def announcement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    announcement = selectors.staff_announcement_get(actor=user, pk=pk)
    if request.method == "GET":
        return _form_page(request, AnnouncementForm(actor=user, announcement=announcement), announcement)
    return _save(request, AnnouncementForm(request.POST, actor=user), announcement)


# --- preview and actions -----------------------------------------------------------------------------------------


def _detail_page(
    request: HttpRequest, announcement: Announcement, *, status: int = 200, **extra: Any
) -> HttpResponse:
    user: User = request.user
    can_edit = has_perm(user, EDIT)
    can_review = has_perm(user, REVIEW)
    wrote_it = announcement.created_by_id == user.pk or announcement.revisions.filter(edited_by=user).exists()
    live = Announcement.objects.filter(selectors.live_q(timezone.now()), pk=announcement.pk).exists()
    context = {
        "a": announcement,
        "body": clean_html(announcement.body_html),
        "audience": list(announcement.audience.order_by("code")),
        "attachments": list(selectors.attachments_of(announcement)),
        "live": live,
        "can_edit": can_edit,
        "can_review": can_review and announcement.status == Status.IN_REVIEW,
        "wrote_it": wrote_it,
        "can_submit": can_edit and announcement.status in service.SUBMITTABLE,
        "can_withdraw": announcement.status in (Status.APPROVED, Status.IN_REVIEW),
        "send_back_form": extra.pop("send_back_form", None) or SendBackForm(),
        "attachment_form": extra.pop("attachment_form", None) or AttachmentForm(),
        "error": "",
        **extra,
    }
    return render_page(request, "publicity/announcement_detail.html", context, status=status)


@never_cache
@staff_page(any_of=(EDIT, REVIEW))
@require_GET
def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview: the text as the public will see it, its state, schedule and audience, and the actions."""
    return _detail_page(request, selectors.staff_announcement_get(actor=request.user, pk=pk))


ACTIONS = {
    "submit": _("Sent for review."),
    "approve": _("Approved."),
    "send_back": _("Sent back to the editor."),
    "withdraw": _("Withdrawn: it is off the public pages."),
    "pin": _("Pinned to the top."),
    "unpin": _("No longer pinned."),
}


@staff_page(any_of=(EDIT, REVIEW))
@require_POST
def announcement_act(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user
    announcement = selectors.staff_announcement_get(actor=user, pk=pk)
    action = request.POST.get("action", "")
    send_back_form = SendBackForm(request.POST if action == "send_back" else None)
    try:
        if action == "submit":
            service.announcement_submit(actor=user, announcement=announcement)
        elif action == "approve":
            version = request.POST.get("version", "")
            service.announcement_approve(
                actor=user, announcement=announcement, version=int(version) if version.isdigit() else None
            )
        elif action == "send_back":
            if not send_back_form.is_valid():
                return _detail_page(request, announcement, status=400, send_back_form=send_back_form)
            service.announcement_send_back(
                actor=user, announcement=announcement, note=send_back_form.cleaned_data["note"]
            )
        elif action == "withdraw":
            service.announcement_withdraw(
                actor=user, announcement=announcement, note=request.POST.get("note", "")
            )
        elif action in ("pin", "unpin"):
            service.announcement_pin(actor=user, announcement=announcement, pinned=action == "pin")
        else:
            return _detail_page(request, announcement, status=400, error=_("Unknown action."))
    except DomainError as err:
        _refusal(err)
        announcement.refresh_from_db()
        return _detail_page(request, announcement, status=err.status, error=err.message)
    if action == "approve" and announcement.published_at is None:
        messages.success(request, _("Approved: it goes public at the time set."))
    else:
        messages.success(request, ACTIONS[action])
    if action in ("approve", "send_back"):
        following = selectors.review_queue(actor=user).exclude(pk=announcement.pk).first()
        if following is not None:
            return redirect("publicity:announcement", pk=following.pk)
        return redirect("publicity:review")
    return redirect("publicity:announcement", pk=announcement.pk)


# --- attachments -------------------------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@staff_page(EDIT)
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach a file. The editor's image button posts here and asks for JSON (the URL to put in the text);
    without JavaScript the form on the preview page posts here and comes back to it."""
    user: User = request.user
    announcement = selectors.staff_announcement_get(actor=user, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        if _wants_json(request):
            return JsonResponse({"detail": message}, status=400)
        return _detail_page(request, announcement, status=400, attachment_form=form)
    upload = form.cleaned_data["file"]
    was_public = announcement.status == Status.APPROVED
    try:
        attachment = service.attachment_add(
            actor=user,
            announcement=announcement,
            name=upload.name,
            data=upload.read(),
            image=request.POST.get("image") == "1",
        )
    except DomainError as err:
        _refusal(err)
        if _wants_json(request):
            return JsonResponse({"detail": err.message}, status=err.status)
        form.add_error("file", err.message)
        return _detail_page(request, announcement, status=err.status, attachment_form=form)
    url = f"/announcements/files/{attachment.pk}"
    if _wants_json(request):
        return JsonResponse(
            {"id": attachment.pk, "url": url, "name": attachment.name, "is_image": attachment.is_image},
            status=201,
        )
    if was_public:
        messages.warning(request, _("Attached. It is off the public pages until it is approved again."))
    else:
        messages.success(request, _("Attached %(name)s.") % {"name": attachment.name})
    return redirect("publicity:announcement", pk=announcement.pk)


@staff_page(EDIT)
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    announcement = selectors.staff_announcement_get(actor=request.user, pk=pk)
    attachment = get_object_or_404(selectors.attachments_of(announcement), pk=attachment_pk)
    try:
        service.attachment_remove(actor=request.user, attachment=attachment)
    except DomainError as err:
        _refusal(err)
        return _detail_page(request, announcement, status=err.status, error=err.message)
    messages.success(request, _("Removed %(name)s.") % {"name": attachment.name})
    return redirect("publicity:announcement", pk=announcement.pk)


# --- versions ----------------------------------------------------------------------------------------------------


@never_cache
@staff_page(any_of=(EDIT, REVIEW))
@require_GET
def versions(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = selectors.staff_announcement_get(actor=request.user, pk=pk)
    context = {
        "a": announcement,
        "revisions": selectors.revisions(announcement=announcement),
        "can_restore": has_perm(request.user, EDIT),
    }
    return render_page(request, "publicity/announcement_versions.html", context)


@never_cache
@staff_page(any_of=(EDIT, REVIEW))
@require_GET
def version_detail(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    announcement = selectors.staff_announcement_get(actor=request.user, pk=pk)
    revision = selectors.revision_get(announcement=announcement, version=version)
    context = {
        "a": announcement,
        "revision": revision,
        "body": clean_html(revision.body_html),
        "can_restore": has_perm(request.user, EDIT) and revision.version != announcement.version,
    }
    return render_page(request, "publicity/announcement_version.html", context)


@staff_page(EDIT)
@require_POST
def version_restore(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    user: User = request.user
    announcement = selectors.staff_announcement_get(actor=user, pk=pk)
    selectors.revision_get(announcement=announcement, version=version)  # 404 for a version that never was
    base = request.POST.get("base_version", "")
    try:
        service.announcement_restore(
            actor=user,
            announcement=announcement,
            version=version,
            base_version=int(base) if base.isdigit() else None,
        )
    except DomainError as err:
        _refusal(err)
        messages.error(request, err.message)
        return redirect("publicity:versions", pk=announcement.pk)
    messages.success(
        request,
        _("Version %(old)d restored as version %(new)d.") % {"old": version, "new": announcement.version},
    )
    return redirect("publicity:announcement", pk=announcement.pk)


# --- review ------------------------------------------------------------------------------------------------------


@never_cache
@staff_page(REVIEW)
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    items = selectors.review_queue(actor=user)
    context = {"page": paginate(request, items), "query": query_without_page(request), "user_pk": user.pk}
    return render_page(request, "publicity/review_queue.html", context, partial="rows")
