"""Twilio's status callbacks with bad input (issue 9, items 7 and 8).

A provider's time far from ours is not believed: the server's time is recorded and the
history says why. A request without a valid signature is refused as such (403), however
large it is. Requests are signed with the SDK's ``RequestValidator``, as Twilio signs them.
"""

import datetime as dt
import email.utils
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse
from twilio.request_validator import RequestValidator

from notifications.models import ContactAttempt
from notifications.services import attempt_create, attempt_record_status

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
BASE = "https://desk.example.test"
FORM = "application/x-www-form-urlencoded"
NOW = dt.datetime(2026, 5, 4, 16, 0, tzinfo=dt.UTC)
THREE_MB = 3 * 1024 * 1024


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def call() -> ContactAttempt:
    return attempt_create(
        subject=None,
        channel=ContactAttempt.Channel.CALL,
        purpose="outreach",
        destination="+14155550142",
        twiml_route="outreach:call-twiml",
    )


def status_path(attempt: ContactAttempt) -> str:
    return reverse("notifications:call-status", args=[attempt.pk])


def twilio_post(client, path: str, params: dict, *, signature: str | None = None):
    """Posts as Twilio does: form-encoded, signed for ``BASE + path`` unless told."""
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    return client.post(
        path, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature
    )


def entry_for(attempt: ContactAttempt, status: str) -> dict:
    attempt.refresh_from_db()
    [entry] = [entry for entry in attempt.history if entry["status"] == status]
    return entry


# --- Item 7: provider times out of range ----------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "reported"),
    [
        ("Fri, 31 Dec 9999 23:59:59 -1400", "9999-12-31T23:59:59-14:00"),
        # RFC 2822 reads a year under 100 as 19xx or 20xx: "0001" is 2001.
        ("Mon, 01 Jan 0001 00:00:00 +0000", "2001-01-01T00:00:00+00:00"),
        ("Tue, 05 May 2026 16:00:01 +0000", "2026-05-05T16:00:01+00:00"),
        ("Sun, 03 May 2026 15:59:59 +0000", "2026-05-03T15:59:59+00:00"),
    ],
    ids=["year-9999", "year-0001", "a-day-ahead", "a-day-behind"],
)
def test_a_provider_time_more_than_a_day_away_is_ignored_and_noted(
    client, call, timestamp, reported
):
    params = {"CallStatus": "completed", "Timestamp": timestamp}
    answer = twilio_post(client, status_path(call), params)
    assert answer.status_code == 204
    entry = entry_for(call, "completed")
    assert entry["at"] == NOW.isoformat()
    assert entry["reported_at"] == reported
    assert "more than 24 hours" in entry["note"]
    call.refresh_from_db()
    assert call.status == ContactAttempt.Status.COMPLETED


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14))),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-14))),
        dt.datetime(2026, 5, 4, 16, 0),  # naive: read as UTC
    ],
    ids=["year-1", "year-1-east", "year-9999-west", "naive"],
)
def test_any_caller_s_out_of_range_time_is_never_stored_nor_a_server_error(call, moment):
    attempt_record_status(attempt_id=call.pk, status="ringing", at=moment)
    entry = entry_for(call, "ringing")
    assert entry["at"] == NOW.isoformat()
    assert ("note" in entry) is (moment.tzinfo is not None)


def test_a_provider_time_within_a_day_is_kept(client, call):
    moment = NOW - dt.timedelta(hours=23)
    params = {"CallStatus": "ringing", "Timestamp": email.utils.format_datetime(moment)}
    assert twilio_post(client, status_path(call), params).status_code == 204
    entry = entry_for(call, "ringing")
    assert entry["at"] == moment.isoformat()
    assert "note" not in entry


@pytest.mark.parametrize(
    "timestamp",
    [
        "Mon, 04 May 2026 16:00:00 -0000",  # RFC 2822: "no zone known"; read as UTC
        "Fri, 31 Dec 99999999999999999999 23:59:59 +0000",
        "not a date",
        "Mon, 04 May 2026 25:61:00 +0000",
    ],
)
def test_an_unreadable_or_zoneless_provider_time_is_never_a_server_error(client, call, timestamp):
    params = {"CallStatus": "ringing", "Timestamp": timestamp}
    assert twilio_post(client, status_path(call), params).status_code == 204
    assert entry_for(call, "ringing")["at"] == NOW.isoformat()


def test_the_allowed_skew_is_a_setting(client, call, settings):
    settings.AHA = {**settings.AHA, "PROVIDER_TIME_MAX_SKEW_HOURS": 1}
    moment = NOW - dt.timedelta(hours=2)
    params = {"CallStatus": "ringing", "Timestamp": email.utils.format_datetime(moment)}
    assert twilio_post(client, status_path(call), params).status_code == 204
    entry = entry_for(call, "ringing")
    assert entry["at"] == NOW.isoformat()
    assert "more than 1 hour from ours" in entry["note"]


# --- Item 8: forged requests of any size ----------------------------------------------------


@pytest.mark.parametrize(
    "signature", [None, "", "forged-signature"], ids=["no-header", "empty", "wrong"]
)
def test_a_forged_request_of_three_megabytes_is_refused_as_unsigned(client, call, signature):
    body = urlencode({"CallStatus": "completed", "Padding": "x" * THREE_MB})
    headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
    answer = client.post(status_path(call), body, content_type=FORM, **headers)
    assert answer.status_code == 403
    assert answer.content == b"Invalid Twilio signature."
    call.refresh_from_db()
    assert call.status == ContactAttempt.Status.PENDING


def test_a_signed_request_too_large_to_verify_is_refused_too(client, call):
    params = {"CallStatus": "completed", "Padding": "x" * THREE_MB}
    answer = twilio_post(client, status_path(call), params)
    assert answer.status_code == 403
    call.refresh_from_db()
    assert call.status == ContactAttempt.Status.PENDING


def test_a_forged_request_with_too_many_fields_is_refused_as_unsigned(client, call):
    params = {f"Field{n}": "x" for n in range(2_000)} | {"CallStatus": "completed"}
    answer = twilio_post(client, status_path(call), params, signature="forged-signature")
    assert answer.status_code == 403


def test_without_an_auth_token_a_large_request_is_refused_before_it_is_read(client, call, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    params = {"CallStatus": "completed", "Padding": "x" * THREE_MB}
    assert twilio_post(client, status_path(call), params).status_code == 403
