"""``channels()`` with the real ``twilio`` SDK against the local Twilio stand-in.

Every request these tests make is checked against Twilio's OpenAPI: the ``twilio_fake``
fixture fails the test at teardown if one broke it.
"""

import re

import pytest

from notifications.channels import ChannelError, TwilioChannels, channels

TO = "+15551230001"
TWIML_URL = "https://desk.example.com/webhooks/twilio/voice/7"
STATUS_URL = "https://desk.example.com/webhooks/twilio/call-status/7"


def test_channels_are_twilios_sdk_when_the_settings_say_twilio(twilio_fake):
    assert isinstance(channels(), TwilioChannels)


def test_a_call_fetches_its_twiml_reports_every_progress_event_and_detects_machines(
    twilio_fake, settings
):
    sid = channels().call(to=TO, twiml_url=TWIML_URL, status_callback=STATUS_URL)

    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)
    assert [call["sid"] for call in twilio_fake.calls] == [sid]
    [request] = twilio_fake.requests_for("CreateCall")
    assert request.path == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Calls.json"
    assert request.value("To") == TO
    assert request.value("From") == settings.TWILIO_FROM_NUMBER
    assert (request.value("Url"), request.value("Method")) == (TWIML_URL, "POST")
    assert request.value("StatusCallback") == STATUS_URL
    assert request.value("StatusCallbackMethod") == "POST"
    assert request.params["StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]
    assert request.value("MachineDetection") == "DetectMessageEnd"


def test_a_text_is_sent_with_its_body_and_status_callback(twilio_fake, settings):
    sid = channels().sms(to=TO, body="Your store needs attention", status_callback=STATUS_URL)

    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [request] = twilio_fake.requests_for("CreateMessage")
    assert request.value("To") == TO
    assert request.value("From") == settings.TWILIO_FROM_NUMBER
    assert request.value("Body") == "Your store needs attention"
    assert request.value("StatusCallback") == STATUS_URL


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_the_code_sent_approves_the_verification(twilio_fake, channel):
    adapter = channels()

    sent = adapter.send_code(to=TO, channel=channel)
    checked = adapter.check_code(to=TO, code=twilio_fake.last_code(TO), verification_sid=sent.sid)

    assert re.fullmatch(r"VE[0-9a-f]{32}", sent.sid)
    assert sent.status == "pending"
    assert (checked.sid, checked.status) == (sent.sid, "approved")
    assert twilio_fake.requests_for("CreateVerification")[0].value("Channel") == channel


def test_a_wrong_code_leaves_the_verification_pending(twilio_fake):
    adapter = channels()
    sent = adapter.send_code(to=TO, channel="sms")
    wrong = "000000" if twilio_fake.last_code(TO) != "000000" else "111111"

    checked = adapter.check_code(to=TO, code=wrong, verification_sid=sent.sid)

    assert (checked.sid, checked.status) == (sent.sid, "pending")


def test_checking_a_code_twilio_no_longer_knows_is_a_permanent_error(twilio_fake):
    with pytest.raises(ChannelError) as refused:
        channels().check_code(to=TO, code="123456", verification_sid="VE" + "0" * 32)

    assert refused.value.transient is False
    assert "HTTP 404" in str(refused.value)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_twilio_server_error_or_rate_limit_is_transient_and_a_retry_succeeds(twilio_fake, status):
    twilio_fake.fail_next(status=status, operation="CreateCall")
    adapter = channels()

    with pytest.raises(ChannelError) as failed:
        adapter.call(to=TO, twiml_url=TWIML_URL, status_callback=STATUS_URL)
    retried = adapter.call(to=TO, twiml_url=TWIML_URL, status_callback=STATUS_URL)

    assert failed.value.transient is True
    assert f"HTTP {status}" in str(failed.value)
    assert [call["sid"] for call in twilio_fake.calls] == [retried]


def test_an_invalid_number_is_a_permanent_error(twilio_fake):
    twilio_fake.reject_number(TO)

    with pytest.raises(ChannelError) as refused:
        channels().sms(to=TO, body="Hello", status_callback=STATUS_URL)

    assert refused.value.transient is False
    assert "HTTP 400, code 21211" in str(refused.value)
    assert twilio_fake.messages == []


def test_an_invalid_number_for_a_code_is_a_permanent_error(twilio_fake):
    twilio_fake.reject_number(TO)

    with pytest.raises(ChannelError) as refused:
        channels().send_code(to=TO, channel="sms")

    assert refused.value.transient is False
    assert "code 60200" in str(refused.value)


def test_an_answer_slower_than_the_timeout_is_transient_though_the_call_was_placed(
    twilio_fake, settings
):
    settings.TWILIO_TIMEOUT_SECONDS = 1
    twilio_fake.delay_next(seconds=30, operation="CreateCall")

    with pytest.raises(ChannelError) as timed_out:
        channels().call(to=TO, twiml_url=TWIML_URL, status_callback=STATUS_URL)

    assert timed_out.value.transient is True
    # Twilio may well have placed the call: a blind retry can ring the seller twice.
    assert len(twilio_fake.calls) == 1


def test_an_unreachable_twilio_is_transient(twilio_fake):
    twilio_fake.stop()

    with pytest.raises(ChannelError) as unreachable:
        channels().call(to=TO, twiml_url=TWIML_URL, status_callback=STATUS_URL)

    assert unreachable.value.transient is True


def test_a_refusal_in_rfc_9457_form_is_a_permanent_error(twilio_fake):
    twilio_fake.fail_next(
        status=400,
        operation="CreateMessage",
        body={
            "type": "https://www.twilio.com/docs/errors/21211",
            "title": "Invalid 'To' Phone Number",
            "status": 400,
            "code": 21211,
            "detail": f"The 'To' number {TO} is not a valid phone number.",
        },
    )

    with pytest.raises(ChannelError) as refused:
        channels().sms(to=TO, body="Hello", status_callback=STATUS_URL)

    assert refused.value.transient is False
