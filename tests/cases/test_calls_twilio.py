"""Outreach end to end through the real ``twilio`` SDK and the Twilio stand-in.

The sweep decides, the delivery task calls Twilio, Twilio's (signed) callbacks come back
to our webhooks, and the case is contacted: every request the project sends is checked
against Twilio's OpenAPI by the ``twilio_fake`` fixture.
"""

import datetime as dt

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from cases.models import Case
from cases.timers import sweep_due_cases
from notifications.models import ContactAttempt
from sellers.models import Store
from tests.builders import enrolled_seller
from tests.builders import open_case as open_case_for
from tests.factories import SpecialistFactory

pytestmark = pytest.mark.django_db

# 18:00 UTC is 10:00 in Los Angeles: no quiet hours in the way.
START = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
PHONE = "+14155550142"  # a US number that takes calls and texts


@pytest.fixture
def assured_case(settings, django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "https://desk.example.test"
    Store.objects.filter(code="US").update(time_zone="America/Los_Angeles")
    seller = enrolled_seller(store_code="US", phone=PHONE)
    specialist = SpecialistFactory(phone="+14155550199")

    def open_case():
        return open_case_for(seller, capture=django_capture_on_commit_callbacks)

    return open_case, specialist


def sweep():
    return sweep_due_cases()


def post_signed(client, settings, path, params):
    url = settings.PUBLIC_BASE_URL + path
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_opening_calls_and_texts_through_twilio_with_our_webhook_urls(
    twilio_fake, assured_case, settings, mailoutbox
):
    open_case, _ = assured_case
    with time_machine.travel(START, tick=False):
        case = open_case()

    [call_request] = twilio_fake.requests_for("CreateCall")
    [text_request] = twilio_fake.requests_for("CreateMessage")
    call = ContactAttempt.objects.get(case=case, channel="call")
    text = ContactAttempt.objects.get(case=case, channel="sms")
    assert call_request.value("To") == PHONE
    base = "https://desk.example.test/webhooks/twilio"
    assert call_request.value("Url") == f"{base}/outreach/calls/{call.pk}/twiml/"
    assert call_request.value("StatusCallback") == f"{base}/calls/{call.pk}/status/"
    assert text_request.value("To") == PHONE
    assert f"case {case.pk}" in text_request.value("Body")
    assert (call.provider_id, call.status) == (twilio_fake.calls[0]["sid"], "queued")
    assert text.provider_id == twilio_fake.messages[0]["sid"]
    # The email went too, and the case knows when outreach first reached out.
    assert [m.to for m in mailoutbox] == [[case.seller.email]]
    assert Case.objects.get(pk=case.pk).first_attempt_at == START


def test_twilio_down_is_retried_with_backoff_then_recorded_and_the_deadline_still_holds(
    twilio_fake, assured_case, django_capture_on_commit_callbacks
):
    open_case, _ = assured_case
    twilio_fake.fail_next(status=503, times=10, operation="CreateCall")
    with time_machine.travel(START, tick=False) as clock:
        case = open_case()
        call = ContactAttempt.objects.get(case=case, channel="call")
        assert (call.status, call.tries) == ("pending", 1)
        assert "503" in call.error
        # Tries 2, 3 and 4 come 1, 2 and 4 minutes after the one before, from the sweep.
        for minutes, tries in [(1, 2), (3, 3), (7, 4)]:
            clock.move_to(START + dt.timedelta(minutes=minutes) - dt.timedelta(seconds=1))
            with django_capture_on_commit_callbacks(execute=True):
                sweep()
            assert ContactAttempt.objects.get(pk=call.pk).tries == tries - 1
            clock.move_to(START + dt.timedelta(minutes=minutes, seconds=1))
            with django_capture_on_commit_callbacks(execute=True):
                sweep()
            assert ContactAttempt.objects.get(pk=call.pk).tries == tries
        call.refresh_from_db()
        assert (call.status, call.outcome, call.tries) == ("failed", "failed", 4)
        assert len(twilio_fake.requests_for("CreateCall")) == 4
        # The channel gave up; the 72-hour promise did not.
        clock.move_to(START + dt.timedelta(hours=72, minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            sweep()
    case.refresh_from_db()
    assert (case.status, case.escalation_reason) == ("escalated", "unreachable")


def test_an_invalid_number_fails_at_once_without_retries(twilio_fake, assured_case):
    open_case, _ = assured_case
    twilio_fake.reject_number(PHONE)
    with time_machine.travel(START, tick=False):
        case = open_case()
    call = ContactAttempt.objects.get(case=case, channel="call")
    assert (call.status, call.tries) == ("failed", 1)
    assert "21211" in call.error
    assert PHONE not in call.error  # masked, like the logs


def test_answered_pressed_1_connected_contacts_the_case_and_stops_the_calls(
    twilio_fake, assured_case, client, settings, django_capture_on_commit_callbacks
):
    open_case, specialist = assured_case
    with time_machine.travel(START, tick=False) as clock:
        case = open_case()
        call = ContactAttempt.objects.get(case=case, channel="call")
        base = f"/webhooks/twilio/calls/{call.pk}"
        flow = f"/webhooks/twilio/outreach/calls/{call.pk}"
        sid = call.provider_id
        clock.move_to(START + dt.timedelta(minutes=1))
        for status in ["initiated", "ringing", "in-progress"]:
            answer = post_signed(
                client, settings, f"{base}/status/", {"CallSid": sid, "CallStatus": status}
            )
            assert answer.status_code == 204
        twiml = post_signed(
            client, settings, f"{flow}/twiml/", {"CallSid": sid, "AnsweredBy": "human"}
        )
        assert b"<Gather" in twiml.content
        assert b"Press 1" in twiml.content
        dial = post_signed(client, settings, f"{flow}/gather/", {"CallSid": sid, "Digits": "1"})
        assert str(specialist.phone).encode() in dial.content
        connected = post_signed(
            client, settings, f"{flow}/connected/", {"CallSid": "CA" + "1" * 32}
        )
        assert connected.status_code == 200
        post_signed(
            client, settings, f"{base}/status/", {"CallSid": sid, "CallStatus": "completed"}
        )

        case.refresh_from_db()
        assert (case.status, case.sla_met) == ("contacted", True)
        assert case.contacted_at == START + dt.timedelta(minutes=1)
        call.refresh_from_db()
        assert (call.status, call.outcome) == ("completed", "connected")
        # No more calls: the retry at +4 h and later rounds never come.
        for hours in (4, 24, 48, 66, 73):
            clock.move_to(START + dt.timedelta(hours=hours))
            with django_capture_on_commit_callbacks(execute=True):
                sweep()
    assert len(twilio_fake.requests_for("CreateCall")) == 1
    assert Case.objects.get(pk=case.pk).status == "contacted"
