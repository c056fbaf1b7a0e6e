"""The email channel: the notice as plain text and simple HTML, to the account's own address.

Sent through Django's email framework (``EMAIL_BACKEND``, configured from ``EPIGRID_EMAIL_URL``: SMTP in
production, the console in the demo, the locmem outbox in tests). The message is built in the recipient's
language, as the notice itself was written.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from epigrid.core.channels.delivery import DeliveryError, TrackedChannel
from epigrid.core.channels.sms import absolute_link
from epigrid.core.models import NoticeDelivery, User


def mask_email(address: str) -> str:
    """zhang.san@example.org -> z***@example.org."""
    local, _at, domain = (address or "").strip().partition("@")
    if not domain:
        return "***" if local else ""
    return f"{local[:1]}***@{domain}"


class EmailChannel(TrackedChannel):
    name = "email"
    label = _("Email")

    def addresses(self, users: list[User]) -> dict[int, str]:
        return {u.pk: mask_email(u.email) for u in users if (u.email or "").strip()}

    def send(self, delivery: NoticeDelivery) -> str:
        notice = delivery.notice
        user = notice.user
        address = (user.email or "").strip()
        if not address:
            raise DeliveryError("no email address")
        link = absolute_link(notice.url)
        settings_link = absolute_link(reverse("core:notice_settings"))
        with translation.override(user.language or settings.LANGUAGE_CODE):
            context = {"notice": notice, "link": link, "settings_link": settings_link}
            text = render_to_string("core/notice_email.txt", context)
            html = render_to_string("core/notice_email.html", context)
        ref = make_msgid(domain="epigrid")
        message = EmailMultiAlternatives(
            subject=notice.title, body=text, to=[address], headers={"Message-ID": ref}
        )
        message.attach_alternative(html, "text/html")
        message.send(fail_silently=False)
        return ref
