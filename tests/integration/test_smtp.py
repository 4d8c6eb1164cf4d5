"""Outreach email through a real SMTP server on loopback (docs/domain.md "Channels").

An aiosmtpd server keeps what it accepts, or answers with the reply a test sets; Django's
SMTP backend talks to it. The sweep runs in this process (Celery inline, callbacks run at
"commit"), so the attempt goes from the sweep's decision to the server's mailbox.
"""

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from cases.timers import sweep_due_cases
from notifications.models import ContactAttempt
from tests.builders import open_assured_case
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

Status = ContactAttempt.Status


class Mailbox:
    """An aiosmtpd handler: accepts and keeps messages, or refuses with ``reply``.

    ``refuse_at`` is ``"RCPT"`` (the address is refused) or ``"DATA"`` (the message is).
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_at: str | None = None
        self.reply = ""

    def refuse(self, stage: str, reply: str) -> None:
        self.refuse_at, self.reply = stage, reply

    def accept(self) -> None:
        self.refuse_at, self.reply = None, ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse_at == "RCPT":
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse_at == "DATA":
            return self.reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
        ):
            yield handler
    finally:
        controller.stop()


@pytest.fixture
def german_case():
    """An assured case of a seller on the German store (language "de")."""
    return open_assured_case(
        store_code="DE",
        phone="+4915112345678",
        seller={"name": "Müller Handel GmbH", "email": "shop@mueller.example"},
        policy_area="counterfeit",
        summary="Beschwerde über ein gefälschtes Produkt",
    )


def sweep(django_capture_on_commit_callbacks) -> None:
    """The sweep, with what it queues after commit (the deliveries) run at once."""
    with django_capture_on_commit_callbacks(execute=True):
        sweep_due_cases()


def opening_email(case) -> ContactAttempt:
    return ContactAttempt.objects.get(
        case=case, channel=ContactAttempt.Channel.EMAIL, purpose=Case.AttemptPurpose.OUTREACH
    )


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_opening_email_reaches_the_smtp_server_in_german_with_an_html_part(
    mailbox, german_case, django_capture_on_commit_callbacks
):
    sweep(django_capture_on_commit_callbacks)

    attempt = opening_email(german_case)
    assert attempt.status == Status.SENT
    assert attempt.language == "de"
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert mailbox.envelopes[0][1] == ["shop@mueller.example"]
    assert message["To"] == "shop@mueller.example"
    assert message["Subject"] == f"Handlungsbedarf bei Ihrem Konto: Fall {german_case.pk}"
    assert message.get_content_type() == "multipart/alternative"
    bodies = parts(message)
    text, html = bodies["text/plain"], bodies["text/html"]
    assert "Hallo Müller Handel GmbH," in text
    assert "ein Spezialist muss mit Ihnen darüber sprechen" in " ".join(text.split())
    assert "Ihr Team von Account Health Assurance" in text
    assert "Beschwerde über ein gefälschtes Produkt" in text
    portal_url = settings.PUBLIC_BASE_URL + reverse(
        "portal:account_health", args=[german_case.seller.seller_id]
    )
    assert portal_url in text
    assert f'href="{portal_url}"' in html
    assert "Ihre Kontostatus-Seite öffnen" in html
    assert "Hallo Müller Handel GmbH," in html
    assert "Hello" not in text
    assert "Hello" not in html


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_451_from_the_server_puts_the_email_back_to_wait_then_it_goes_out(
    stage, mailbox, german_case, django_capture_on_commit_callbacks
):
    mailbox.refuse(stage, "451 4.3.0 Mailbox busy, try again later")
    before = timezone.now()
    sweep(django_capture_on_commit_callbacks)

    attempt = opening_email(german_case)
    assert attempt.status == Status.PENDING
    assert attempt.tries == 1
    assert attempt.next_try_at >= before + dt.timedelta(minutes=1)
    assert "SMTP 451" in attempt.error
    assert "try again later" in attempt.error
    assert [entry["status"] for entry in attempt.history] == ["pending", "error"]
    assert attempt.history[-1]["error"] == attempt.error
    assert mailbox.messages == []

    # Still refused a minute on: the second try waits twice as long.
    with time_machine.travel(attempt.next_try_at + dt.timedelta(seconds=1), tick=True):
        sweep(django_capture_on_commit_callbacks)
        attempt.refresh_from_db()
        assert (attempt.status, attempt.tries) == (Status.PENDING, 2)
        assert attempt.next_try_at >= timezone.now() + dt.timedelta(seconds=110)

    mailbox.accept()
    with time_machine.travel(attempt.next_try_at + dt.timedelta(seconds=1), tick=True):
        sweep(django_capture_on_commit_callbacks)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries) == (Status.SENT, 3)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == "shop@mueller.example"


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_a_550_from_the_server_fails_the_email_for_good(
    stage, mailbox, german_case, django_capture_on_commit_callbacks
):
    mailbox.refuse(stage, "550 5.1.1 No such mailbox here")
    sweep(django_capture_on_commit_callbacks)

    attempt = opening_email(german_case)
    assert attempt.status == Status.FAILED
    assert attempt.outcome == ContactAttempt.Outcome.FAILED
    assert attempt.tries == 1
    assert "SMTP 550" in attempt.error
    assert "No such mailbox" in attempt.error

    # Nothing is tried again, however long the sweep keeps running.
    mailbox.accept()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=True):
        sweep(django_capture_on_commit_callbacks)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries) == (Status.FAILED, 1)
    assert mailbox.messages == []
