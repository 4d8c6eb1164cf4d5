"""Notifications is a leaf: it sends what its caller rendered, about whatever the caller says."""

import pytest

from accounts.models import User
from config.email import Email
from notifications.models import ContactAttempt
from notifications.services import attempt_create, attempt_deliver

pytestmark = pytest.mark.django_db

Channel = ContactAttempt.Channel


def test_an_email_is_sent_as_its_caller_rendered_it(mailoutbox, django_capture_on_commit_callbacks):
    about = User.objects.create(username="anyone")  # any model will do: no case needed
    email = Email(subject="Your parcel", text="Plain words.", html="<p>Rich words.</p>")
    with django_capture_on_commit_callbacks(execute=True):
        attempt = attempt_create(
            subject=about,
            channel=Channel.EMAIL,
            purpose="parcel_notice",
            destination="someone@example.test",
            email=email,
        )

    [message] = mailoutbox
    assert (message.subject, message.body, message.to) == (
        "Your parcel",
        "Plain words.",
        ["someone@example.test"],
    )
    assert message.alternatives[0][0] == "<p>Rich words.</p>"
    attempt.refresh_from_db()
    assert (attempt.subject, attempt.purpose, attempt.status) == (about, "parcel_notice", "sent")


def test_a_call_asks_the_callers_view_what_to_say(twilio_fake, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.test"
    attempt = attempt_create(
        subject=None,
        channel=Channel.CALL,
        purpose="outreach",
        destination="+14155550142",
        twiml_route="outreach:call-twiml",
    )
    attempt_deliver(attempt.pk)

    [call] = twilio_fake.requests_for("CreateCall")
    base = "https://desk.example.test/webhooks/twilio"
    assert call.value("Url") == f"{base}/outreach/calls/{attempt.pk}/twiml/"
    assert call.value("StatusCallback") == f"{base}/calls/{attempt.pk}/status/"


@pytest.mark.parametrize(
    ("channel", "content"),
    [(Channel.EMAIL, {"text": "no email given"}), (Channel.SMS, {}), (Channel.CALL, {})],
)
def test_an_attempt_without_its_content_is_refused_before_anything_is_written(channel, content):
    with pytest.raises(ValueError, match="needs its content"):
        attempt_create(
            subject=None, channel=channel, purpose="x", destination="+14155550142", **content
        )
    assert not ContactAttempt.objects.exists()
