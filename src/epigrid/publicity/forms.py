"""Forms of the announcement pages. They check the shape of the input only; the services judge the content
(sanitising, the audience's area, the order of the times) and their messages are what the editor reads."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from epigrid.core.models import OrgLevel, OrgUnit, User
from epigrid.core.scope import prefix_q
from epigrid.publicity.models import Announcement, Category
from epigrid.publicity.services.announcements import AnnouncementInput

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=DATETIME_LOCAL)


def audience_units(actor: User) -> forms.ModelMultipleChoiceField:
    """The streets and communities of the editor's area (grids would be thousands in a city)."""
    units = OrgUnit.objects.filter(level__in=[OrgLevel.STREET, OrgLevel.COMMUNITY])
    if actor.org_code:
        units = units.filter(prefix_q("code", actor.org_code))
    return forms.ModelMultipleChoiceField(
        queryset=units.order_by("code"),
        required=False,
        label=_("Audience"),
        help_text=_("Leave empty for the whole district. Otherwise only residents of these units see it."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=400,
        required=False,
        help_text=_("One or two sentences for the list, the feed and the residents' inbox."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    body_html = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "data-rich-editor": "1"}),
        help_text=_(
            "Headings, lists, links, tables and pictures; anything else is removed when it is saved."
        ),
    )
    publish_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=DateTimeLocalInput(),
        help_text=_("Empty: as soon as it is approved."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=DateTimeLocalInput(),
        help_text=_("Empty: until it is withdrawn."),
    )
    pinned = forms.BooleanField(label=_("Pin to the top of the list"), required=False)
    push = forms.BooleanField(
        label=_("Push to residents"),
        required=False,
        help_text=_("When it goes public, the residents of the audience get it in their inbox."),
    )
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)
    base_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, actor: User, announcement: Announcement | None = None, **kwargs) -> None:
        if announcement is not None and not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "title": announcement.title,
                "category": announcement.category,
                "summary": announcement.summary,
                "body_html": announcement.body_html,
                "publish_at": announcement.publish_at,
                "expires_at": announcement.expires_at,
                "pinned": announcement.pinned,
                "push": announcement.push,
                "audience": list(announcement.audience.values_list("pk", flat=True)),
                "base_version": announcement.version,
            }
        super().__init__(*args, **kwargs)
        self.fields["audience"] = audience_units(actor)
        self.order_fields(
            ["title", "category", "summary", "body_html", "audience", "publish_at", "expires_at"]
        )

    def to_input(self) -> AnnouncementInput:
        data = self.cleaned_data
        return AnnouncementInput(
            title=data["title"],
            category=data["category"],
            body_html=data.get("body_html") or "",
            summary=data.get("summary") or "",
            audience=list(data.get("audience") or []),
            publish_at=data.get("publish_at"),
            expires_at=data.get("expires_at"),
            pinned=bool(data.get("pinned")),
            push=bool(data.get("push")),
        )


class SendBackForm(forms.Form):
    note = forms.CharField(
        label=_("What should change"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("An image, PDF, Excel, Word or text file of at most 10 MB.")
    )
