"""The SMS channel: a notice's title, a short body and its link, sent through ``core.sms.sms_send``.

The phone number is decrypted here, at sending time, and nowhere else in the notification service: the
delivery row keeps the masked number that the person record stores beside the encrypted one.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from epigrid.core.channels.delivery import DeliveryError, TrackedChannel
from epigrid.core.models import Notice, NoticeDelivery, Person, User
from epigrid.core.sms import sms_send

BODY_CHARS = 120  # a text message is read at a glance; the inbox has the whole body
TEXT_LIMIT = 500


def absolute_link(url: str) -> str:
    """A link a phone can open: http(s) addresses as they are, paths of this site under
    ``settings.PUBLIC_URL`` (nothing when it is not set: a bare path means nothing in a text message)."""
    if not url:
        return ""
    if url.lower().startswith(("http://", "https://")):
        return url
    base = getattr(settings, "PUBLIC_URL", "")
    return f"{base}{url}" if base and url.startswith("/") else ""


def sms_text(notice: Notice) -> str:
    parts = [notice.title]
    body = " ".join(notice.body.split())
    if body:
        parts.append(body if len(body) <= BODY_CHARS else body[: BODY_CHARS - 1] + "…")
    link = absolute_link(notice.url)
    if link:
        parts.append(link)
    text = " ".join(parts)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


class SmsChannel(TrackedChannel):
    name = "sms"
    label = _("SMS")

    def addresses(self, users: list[User]) -> dict[int, str]:
        person_ids = {u.person_id for u in users if u.person_id}
        masked = dict(
            Person.objects.filter(pk__in=person_ids)
            .exclude(phone_masked="")
            .values_list("pk", "phone_masked")
        )
        return {u.pk: masked[u.person_id] for u in users if u.person_id in masked}

    def send(self, delivery: NoticeDelivery) -> str:
        notice = delivery.notice
        person_id = notice.user.person_id
        person = Person.objects.filter(pk=person_id).only("phone").first() if person_id else None
        phone = (person.phone if person is not None else "").strip()
        if not phone:
            raise DeliveryError("no phone number")
        return sms_send(to=phone, text=sms_text(notice), purpose=f"notice:{notice.kind}")
