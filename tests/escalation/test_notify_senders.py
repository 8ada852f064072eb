"""Email over SMTP and the outgoing webhook, each against a real local sink on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from email import message_from_bytes
from email import policy as email_policy

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from bot.notify.email import EmailSender
from bot.notify.webhook import WebhookSender
from storage.ports import DeliveryError, Destination, Page


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=email_policy.default)))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"tocsin" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
async def view(container, people):
    return (await container.incidents.declare(people.slack("responder"), "Disk full", team="payments")).incident


async def test_email_page_and_threaded_notice_with_login(view, unused_tcp_port):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port, authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        sender = EmailSender("127.0.0.1", unused_tcp_port, username="tocsin", password="s3cret", starttls=False)
        page = await sender.send(Destination("email", "lead@example.com"),
                                 Page(view, "step:0:1", "not acknowledged", key="tocsin-notification-7"))
        await sender.send(Destination("email", "lead@example.com", thread=page.thread),
                          Page(view, "closing:resolved", "resolved by Lead", "notice", key="tocsin-notification-9"))
    finally:
        controller.stop()
    (to, first), (_, second) = inbox.messages
    assert to == ["lead@example.com"] and first["Message-ID"] == "<tocsin-notification-7@tocsin>"
    assert "#1 Disk full" in first["Subject"] and "not acknowledged" in first.get_content()
    assert second["In-Reply-To"] == "<tocsin-notification-7@tocsin>" and second["Subject"].startswith("Re: ")


class PickyInbox(Inbox):
    async def handle_DATA(self, server, session, envelope):
        return "451 try again later" if "busy" in envelope.rcpt_tos[0] else "550 no such mailbox"


async def test_email_4xx_is_retried_and_5xx_is_permanent(view, unused_tcp_port):
    controller = Controller(PickyInbox(), hostname="127.0.0.1", port=unused_tcp_port)
    controller.start()
    try:
        sender = EmailSender("127.0.0.1", unused_tcp_port, starttls=False)
        with pytest.raises(DeliveryError) as busy:
            await sender.send(Destination("email", "busy@example.com"), Page(view, "r", "t"))
        with pytest.raises(DeliveryError) as gone:
            await sender.send(Destination("email", "gone@example.com"), Page(view, "r", "t"))
    finally:
        controller.stop()
    assert not busy.value.permanent and gone.value.permanent


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
async def test_email_over_starttls(view, unused_tcp_port, certificate):
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port, tls_context=server_tls,
                            require_starttls=True, authenticator=_authenticator)
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        client_tls.check_hostname = False
        sender = EmailSender("127.0.0.1", unused_tcp_port, username="tocsin", password="s3cret", starttls=True,
                             tls_context=client_tls)
        await sender.send(Destination("email", "lead@example.com"), Page(view, "r", "over TLS", key="k1"))
    finally:
        controller.stop()
    assert inbox.messages[0][1].get_content().strip() == "over TLS"


@pytest.fixture
async def sink(unused_tcp_port):
    """A local HTTP gateway: records requests; answers from a script of statuses."""
    received, script = [], []

    async def handle(request: web.Request) -> web.Response:
        received.append(({k.lower(): v for k, v in request.headers.items()}, await request.read()))
        status, headers = script.pop(0) if script else (200, {})
        return web.Response(status=status, headers=headers, text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield f"http://127.0.0.1:{unused_tcp_port}/hook", received, script
    await runner.cleanup()


async def test_webhook_posts_signed_json_with_an_idempotency_key(view, sink):
    import hashlib
    import hmac

    url, received, _ = sink
    sender = WebhookSender(url, secret="shh")
    delivery = await sender.send(Destination("webhook", "lead@example.com", person_id=5),
                                 Page(view, "step:0:1", "call the lead", key="tocsin-notification-3"))
    await sender.close()
    headers, body = received[0]
    data = json.loads(body)
    assert data["to"] == "lead@example.com" and data["incident"]["number"] == 1 and data["text"] == "call the lead"
    assert headers["idempotency-key"] == "tocsin-notification-3" == delivery.reference
    assert headers["x-tocsin-signature"] == "sha256=" + hmac.new(b"shh", body, hashlib.sha256).hexdigest()


async def test_webhook_rate_limit_is_retried_after_and_client_errors_are_permanent(view, sink):
    url, _, script = sink
    script += [(429, {"Retry-After": "12"}), (400, {})]
    sender = WebhookSender(url)
    with pytest.raises(DeliveryError) as limited:
        await sender.send(Destination("webhook", "x"), Page(view, "r", "t"))
    with pytest.raises(DeliveryError) as refused:
        await sender.send(Destination("webhook", "x"), Page(view, "r", "t"))
    await sender.close()
    assert limited.value.retry_after == 12 and not limited.value.permanent
    assert refused.value.permanent


async def test_an_oncall_handoff_notice_has_no_incident_by_email_and_webhook(unused_tcp_port_factory, sink):
    text = "You are on call for payments-primary until Mon 30 Nov 09:00 Europe/Lisbon"
    notice = Page(None, "oncall:handoff", text, "oncall", key="tocsin-notification-4")
    inbox = Inbox()
    port = unused_tcp_port_factory()  # the sink has the fixture's port
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        await EmailSender("127.0.0.1", port, starttls=False).send(Destination("email", "ana@example.com"),
                                                                             notice)
    finally:
        controller.stop()
    ((to, message),) = inbox.messages
    assert to == ["ana@example.com"] and message["Subject"] == f"[Tocsin] {text}"
    url, received, _ = sink
    sender = WebhookSender(url)
    await sender.send(Destination("webhook", "ana@example.com"), notice)
    await sender.close()
    data = json.loads(received[0][1])
    assert (data["kind"], data["text"], data["incident"]) == ("oncall", text, None)
