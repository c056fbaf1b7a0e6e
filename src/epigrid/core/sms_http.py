"""The SMS gateway adapter (``EPIGRID_SMS_BACKEND=http``): one JSON POST per message.

``POST EPIGRID_SMS_HTTP_URL`` with ``Authorization: Bearer EPIGRID_SMS_HTTP_TOKEN`` and
``{"to": "+86…", "text": "…", "purpose": "notice:testing_recall"}``; the gateway answers 2xx with
``{"id": "<its reference>"}`` when it accepted the message. Anything else — another status, a body without an
id, no answer within 5 seconds, no connection — is an :class:`~epigrid.core.sms.SmsError` naming what went
wrong (the status code, never the message or the number), which the caller records and may retry.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings

from epigrid.core.sms import SmsError

TIMEOUT_SECONDS = 5.0


def http_send(to: str, text: str, purpose: str) -> str:
    url = getattr(settings, "SMS_HTTP_URL", "")
    if not url.lower().startswith(("http://", "https://")):
        raise SmsError("EPIGRID_SMS_HTTP_URL is not an http(s) address")
    data = json.dumps({"to": to, "text": text, "purpose": purpose}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    token = getattr(settings, "SMS_HTTP_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as err:
        raise SmsError(f"gateway answered HTTP {err.code}") from None
    except TimeoutError:
        raise SmsError(f"gateway did not answer within {TIMEOUT_SECONDS:g} s") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise SmsError(f"gateway did not answer within {TIMEOUT_SECONDS:g} s") from None
        raise SmsError(f"gateway unreachable: {err.reason}") from None
    except OSError as err:
        raise SmsError(f"gateway connection failed: {err}") from None
    if not 200 <= status < 300:
        raise SmsError(f"gateway answered HTTP {status}")
    try:
        ref = json.loads(raw.decode() or "{}").get("id")
    except (ValueError, AttributeError):
        ref = None
    if ref in (None, ""):
        raise SmsError(f"gateway answered HTTP {status} without a message id")
    return str(ref)
