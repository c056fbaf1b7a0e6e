"""The SMS gateway adapter against a real HTTP server on 127.0.0.1 (a thread of this test): the request it
sends, a 2xx with an id, a 500, a 2xx without an id, a gateway that does not answer in time, and no gateway."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from epigrid.core import sms, sms_http


class _Gateway(BaseHTTPRequestHandler):
    # What the path asks the fake gateway to do: /ok, /error, /noid, /slow.
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization", ""),
                "type": self.headers.get("Content-Type", ""),
                "body": json.loads(self.rfile.read(length).decode()),
            }
        )
        if self.path == "/slow":
            time.sleep(1.0)
        status, body = {
            "/ok": (200, {"id": "gw-1001"}),
            "/error": (500, {"error": "internal"}),
            "/noid": (202, {"accepted": True}),
            "/slow": (200, {"id": "late"}),
        }.get(self.path, (404, {}))
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the slow case: the client gave up
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    _Gateway.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_backend(settings, gateway):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_TOKEN = "secret-token"
    return settings


def test_a_2xx_with_an_id_is_sent_and_the_request_is_json_with_the_bearer_token(http_backend, gateway):
    http_backend.SMS_HTTP_URL = f"{gateway}/ok"
    sms.outbox.clear()
    ref = sms.sms_send(to="13912345678", text="请复检 re-test", purpose="notice:testing_recall")
    assert ref == "gw-1001"
    [request] = _Gateway.received
    assert request["auth"] == "Bearer secret-token"
    assert request["type"].startswith("application/json")
    assert request["body"] == {
        "to": "13912345678",
        "text": "请复检 re-test",
        "purpose": "notice:testing_recall",
    }
    assert sms.outbox == []  # the gateway, not the console


def test_a_500_is_an_error_with_the_status(http_backend, gateway):
    http_backend.SMS_HTTP_URL = f"{gateway}/error"
    with pytest.raises(sms.SmsError, match="HTTP 500"):
        sms.sms_send(to="13912345678", text="t", purpose="p")


def test_a_2xx_without_an_id_is_an_error(http_backend, gateway):
    http_backend.SMS_HTTP_URL = f"{gateway}/noid"
    with pytest.raises(sms.SmsError, match="HTTP 202 without a message id"):
        sms.sms_send(to="13912345678", text="t", purpose="p")


def test_a_gateway_that_does_not_answer_in_time_is_an_error(http_backend, gateway, monkeypatch):
    monkeypatch.setattr(sms_http, "TIMEOUT_SECONDS", 0.2)  # 5 s in production; the fake answers after 1 s
    http_backend.SMS_HTTP_URL = f"{gateway}/slow"
    with pytest.raises(sms.SmsError, match=r"did not answer within 0\.2 s"):
        sms.sms_send(to="13912345678", text="t", purpose="p")


def test_no_gateway_or_no_address_is_an_error(settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_URL = ""
    with pytest.raises(sms.SmsError, match="not an http"):
        sms.sms_send(to="13912345678", text="t", purpose="p")
    settings.SMS_HTTP_URL = "file:///etc/passwd"
    with pytest.raises(sms.SmsError, match="not an http"):
        sms.sms_send(to="13912345678", text="t", purpose="p")
    settings.SMS_HTTP_URL = _closed_port_url()
    with pytest.raises(sms.SmsError, match=r"unreachable|connection"):
        sms.sms_send(to="13912345678", text="t", purpose="p")


def _closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens (a port bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/send"


@pytest.mark.django_db
def test_the_sms_channel_records_the_gateways_reference_and_its_failure(
    http_backend, gateway, jurisdiction, django_capture_on_commit_callbacks
):
    from epigrid.core import notices
    from epigrid.core.models import DeliveryStatus, NoticeDelivery
    from epigrid.core.tests.factories import PersonFactory

    http_backend.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    person = PersonFactory(grid=jurisdiction.grid_a)
    for path in ("/ok", "/error"):
        http_backend.SMS_HTTP_URL = f"{gateway}{path}"
        with django_capture_on_commit_callbacks(execute=True):
            notices.person_notify(actor=None, persons=[person], kind="testing_recall", params={})
    sent, failed = NoticeDelivery.objects.order_by("pk")
    assert (sent.status, sent.provider_ref) == (DeliveryStatus.SENT, "gw-1001")
    assert (failed.status, failed.last_error) == (DeliveryStatus.FAILED, "gateway answered HTTP 500")
