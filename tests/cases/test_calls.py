"""Twilio's requests to us (docs/domain.md "Channels"), signed as Twilio signs them.

Each request is signed with the ``twilio`` SDK's own ``RequestValidator`` over the public
URL and the form parameters, and sent form-encoded with ``X-Twilio-Signature``, as Twilio
sends it. The call attempts come from a real opening: ``case_open`` and the sweep after
commit, delivered through the console adapter.
"""

import datetime as dt
import email.utils
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse
from twilio.request_validator import RequestValidator

from accounts.roles import Role
from cases.models import Case, CaseEvent
from notifications.models import ContactAttempt
from sellers.models import Store
from tests.builders import open_assured_case
from tests.factories import SpecialistFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
BASE = "https://desk.example.test"
FROM_NUMBER = "+15005550006"
DESK_PHONE = "+14155550199"
SPECIALIST_PHONE = "+14155550142"
FORM = "application/x-www-form-urlencoded"
OPENED_AT = dt.datetime(2026, 5, 4, 16, 0, tzinfo=dt.UTC)  # 09:00 in Los Angeles

Status = ContactAttempt.Status


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.AHA_DESK_PHONE = DESK_PHONE
    return settings


@pytest.fixture
def frozen():
    with time_machine.travel(OPENED_AT, tick=False) as traveller:
        yield traveller


def open_case(capture, *, store_code: str = "US", specialist_phone: str = "") -> Case:
    """An assured case, opened and swept: its first call and text are on their way."""
    store = Store.objects.get(code=store_code)
    store.aha_enabled = True
    store.save()
    specialist = SpecialistFactory(stores=[store], phone=specialist_phone)
    UserFactory(role=Role.MANAGER)
    case = open_assured_case(
        store_code=store_code,
        seller={"name": "Acme Garden Supplies"},
        capture=capture,
    )
    assert case.assigned_to == specialist.user
    return case


@pytest.fixture
def case(frozen, django_capture_on_commit_callbacks) -> Case:
    return open_case(django_capture_on_commit_callbacks)


def attempt_of(case: Case, channel: str) -> ContactAttempt:
    [attempt] = ContactAttempt.objects.filter(case=case, channel=channel)
    return attempt


@pytest.fixture
def call(case) -> ContactAttempt:
    attempt = attempt_of(case, ContactAttempt.Channel.CALL)
    assert attempt.status == Status.QUEUED
    return attempt


@pytest.fixture
def text(case) -> ContactAttempt:
    attempt = attempt_of(case, ContactAttempt.Channel.SMS)
    assert attempt.status == Status.QUEUED
    return attempt


# The call's TwiML is the outreach call flow's (cases.calls); status callbacks are the
# notifications app's, whatever the attempt was for.
CALL_FLOW = {"call-twiml", "call-gather", "call-connected", "call-dial"}


def path_of(name: str, attempt: ContactAttempt) -> str:
    namespace = "outreach" if name in CALL_FLOW else "notifications"
    return reverse(f"{namespace}:{name}", args=[attempt.pk])


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twilio_post(client, path: str, params: dict, *, signature: str | None = None):
    """Posts as Twilio does; signed for ``BASE + path`` unless a signature is given."""
    if signature is None:
        signature = sign(BASE + path, params)
    return client.post(
        path, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature
    )


def stamp(moment: dt.datetime) -> str:
    """Twilio's ``Timestamp``: RFC 2822."""
    return email.utils.format_datetime(moment)


def twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def statuses(attempt: ContactAttempt) -> list[str]:
    attempt.refresh_from_db()
    return [entry["status"] for entry in attempt.history]


def contact_events(case: Case) -> list[CaseEvent]:
    return list(
        CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION, transition="contact")
    )


def state(case: Case, *attempts: ContactAttempt) -> tuple:
    """All a webhook could change."""
    case.refresh_from_db()
    rows = []
    for attempt in attempts:
        attempt.refresh_from_db()
        rows.append(
            (
                attempt.status,
                attempt.history,
                attempt.outcome,
                attempt.answered_by,
                attempt.connected_at,
            )
        )
    return (case.status, case.contacted_at, CaseEvent.objects.filter(case=case).count(), rows)


# Every endpoint, with parameters that would change something if they were accepted.
CALL_REQUESTS = [
    ("call-twiml", {"CallSid": "CA1", "AnsweredBy": "human"}),
    ("call-gather", {"CallSid": "CA1", "Digits": "1"}),
    ("call-connected", {"CallSid": "CA1"}),
    ("call-dial", {"CallSid": "CA1", "DialCallStatus": "completed"}),
    ("call-status", {"CallSid": "CA1", "CallStatus": "completed", "AnsweredBy": "human"}),
]
SMS_REQUEST = ("sms-status", {"MessageSid": "SM1", "MessageStatus": "delivered"})
ALL_REQUESTS = [pytest.param(n, p, id=n) for n, p in [*CALL_REQUESTS, SMS_REQUEST]]


def target(name: str, call: ContactAttempt, text: ContactAttempt) -> ContactAttempt:
    return text if name == "sms-status" else call


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), ALL_REQUESTS)
def test_a_signed_request_is_accepted(client, case, call, text, name, params):
    response = twilio_post(client, path_of(name, target(name, call, text)), params)
    assert response.status_code in {200, 204}


@pytest.mark.parametrize(("name", "params"), ALL_REQUESTS)
def test_an_unsigned_request_is_refused_and_changes_nothing(client, case, call, text, name, params):
    before = state(case, call, text)

    response = client.post(
        path_of(name, target(name, call, text)), urlencode(params), content_type=FORM
    )

    assert response.status_code == 403
    assert state(case, call, text) == before


@pytest.mark.parametrize(("name", "params"), ALL_REQUESTS)
@pytest.mark.parametrize(
    "forgery", ["wrong-token", "altered-after-signing", "other-attempt", "other-host", "garbage"]
)
def test_a_forged_request_is_refused_and_changes_nothing(
    client, case, call, text, name, params, forgery
):
    attempt = target(name, call, text)
    path = path_of(name, attempt)
    other_path = path.replace(f"/{attempt.pk}/", f"/{attempt.pk + 1000}/")
    signature = {
        "wrong-token": lambda: sign(BASE + path, params, token="f" * 32),
        "altered-after-signing": lambda: sign(BASE + path, {**params, "CallSid": "CA2"}),
        "other-attempt": lambda: sign(BASE + other_path, params),
        "other-host": lambda: sign("https://evil.example.test" + path, params),
        "garbage": lambda: "bm90IGEgc2lnbmF0dXJl",
    }[forgery]()
    before = state(case, call, text)

    response = twilio_post(client, path, params, signature=signature)

    assert response.status_code == 403
    assert state(case, call, text) == before


@pytest.mark.parametrize(("name", "params"), ALL_REQUESTS)
def test_without_an_auth_token_every_request_is_refused(
    client, case, call, text, twilio_settings, name, params
):
    path = path_of(name, target(name, call, text))
    signature = sign(BASE + path, params, token="")
    twilio_settings.TWILIO_AUTH_TOKEN = ""
    before = state(case, call, text)

    response = twilio_post(client, path, params, signature=signature)

    assert response.status_code == 403
    assert state(case, call, text) == before


@pytest.mark.parametrize(("name", "params"), ALL_REQUESTS)
def test_a_get_is_not_allowed(client, case, call, text, name, params):
    path = path_of(name, target(name, call, text))
    response = client.get(path, params, HTTP_X_TWILIO_SIGNATURE=sign(BASE + path, params))
    assert response.status_code == 405


def test_a_call_webhook_for_a_text_is_not_found(client, case, text):
    response = twilio_post(client, path_of("call-status", text), {"CallStatus": "completed"})
    assert response.status_code == 404
    assert statuses(text) == ["pending", "queued"]


# --- status callbacks ---------------------------------------------------------------------


def test_call_progress_is_recorded_once_per_status_however_often_it_comes(client, case, call):
    path = path_of("call-status", call)
    reports = [
        {"CallStatus": "initiated", "Timestamp": stamp(OPENED_AT + dt.timedelta(seconds=1))},
        {"CallStatus": "ringing", "Timestamp": stamp(OPENED_AT + dt.timedelta(seconds=3))},
        {"CallStatus": "completed", "Timestamp": stamp(OPENED_AT + dt.timedelta(seconds=40))},
    ]
    for report in reports:
        for _ in range(2):  # every callback replayed
            assert twilio_post(client, path, report).status_code == 204

    assert statuses(call) == ["pending", "queued", "initiated", "ringing", "completed"]
    assert call.status == Status.COMPLETED
    assert call.history[-1]["at"] == (OPENED_AT + dt.timedelta(seconds=40)).isoformat()


def test_callbacks_out_of_order_leave_the_call_completed_with_both_in_its_history(
    client, case, call
):
    path = path_of("call-status", call)
    completed = {"CallStatus": "completed", "Timestamp": stamp(OPENED_AT + dt.timedelta(minutes=1))}
    ringing = {"CallStatus": "ringing", "Timestamp": stamp(OPENED_AT + dt.timedelta(seconds=5))}

    assert twilio_post(client, path, completed).status_code == 204
    assert twilio_post(client, path, ringing).status_code == 204
    assert twilio_post(client, path, ringing).status_code == 204

    assert statuses(call) == ["pending", "queued", "ringing", "completed"]
    assert call.status == Status.COMPLETED
    assert call.outcome == ContactAttempt.Outcome.ANSWERED


@pytest.mark.parametrize(
    ("call_status", "outcome"),
    [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed"), ("canceled", "failed")],
)
def test_a_call_nobody_answered_ends_with_its_outcome(client, case, call, call_status, outcome):
    response = twilio_post(client, path_of("call-status", call), {"CallStatus": call_status})

    assert response.status_code == 204
    call.refresh_from_db()
    assert (call.status, call.outcome) == (call_status, outcome)
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED


def test_an_unknown_call_status_is_refused(client, case, call):
    response = twilio_post(client, path_of("call-status", call), {"CallStatus": "exploded"})
    assert response.status_code == 400
    assert statuses(call) == ["pending", "queued"]


def test_a_text_sent_then_delivered_is_delivered(client, case, text):
    path = path_of("sms-status", text)
    for status in ["sent", "delivered", "sent"]:  # the late "sent" changes nothing
        assert twilio_post(client, path, {"MessageStatus": status}).status_code == 204

    assert statuses(text) == ["pending", "queued", "sent", "delivered"]
    assert (text.status, text.outcome) == (Status.DELIVERED, ContactAttempt.Outcome.DELIVERED)


def test_a_text_not_delivered_is_failed(client, case, text):
    path = path_of("sms-status", text)
    for status in ["sent", "undelivered", "undelivered"]:
        assert twilio_post(client, path, {"MessageStatus": status}).status_code == 204

    assert statuses(text) == ["pending", "queued", "sent", "undelivered"]
    assert (text.status, text.outcome) == (Status.UNDELIVERED, ContactAttempt.Outcome.FAILED)


def test_an_unknown_message_status_is_refused(client, case, text):
    response = twilio_post(client, path_of("sms-status", text), {"MessageStatus": "lost"})
    assert response.status_code == 400
    assert statuses(text) == ["pending", "queued"]


# --- what the seller hears ----------------------------------------------------------------


def test_a_person_who_answers_hears_why_we_call_and_is_asked_to_press_1(client, case, call):
    root = twiml(
        twilio_post(client, path_of("call-twiml", call), {"CallSid": "CA1", "AnsweredBy": "human"})
    )

    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == BASE + path_of("call-gather", call)
    say = gather.find("Say")
    assert say.get("language") == "en-US"
    assert "Acme Garden Supplies" in say.text
    assert "Press 1 to be connected to a specialist" in say.text
    # Said after the Gather when no key is pressed.
    assert root.find("Say") is not None
    call.refresh_from_db()
    assert (call.status, call.answered_by) == (Status.IN_PROGRESS, "human")


def test_a_seller_of_the_german_store_hears_the_call_in_german(
    client, frozen, django_capture_on_commit_callbacks
):
    case = open_case(django_capture_on_commit_callbacks, store_code="DE")
    call = attempt_of(case, ContactAttempt.Channel.CALL)

    root = twiml(
        twilio_post(client, path_of("call-twiml", call), {"CallSid": "CA1", "AnsweredBy": "human"})
    )

    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    say = gather.find("Say")
    assert say.get("language") == "de-DE"
    assert "mit einem Anruf für Acme Garden Supplies" in say.text
    assert "Drücken Sie die 1" in say.text
    missed = root.find("Say")
    assert missed.get("language") == "de-DE"
    assert "Auf Wiederhören" in missed.text


@pytest.mark.parametrize("machine", ["machine_end_beep", "machine_end_silence", "machine_start"])
def test_an_answering_machine_gets_a_voicemail_and_the_call_ends_as_voicemail(
    client, case, call, machine
):
    root = twiml(
        twilio_post(client, path_of("call-twiml", call), {"CallSid": "CA1", "AnsweredBy": machine})
    )

    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "press Call Me Now" in root.find("Say").text
    assert root.find("Gather") is None
    twilio_post(
        client, path_of("call-status", call), {"CallStatus": "completed", "AnsweredBy": machine}
    )
    call.refresh_from_db()
    assert (call.status, call.answered_by, call.outcome) == (
        Status.COMPLETED,
        machine,
        ContactAttempt.Outcome.VOICEMAIL,
    )
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED


# --- connecting the seller ----------------------------------------------------------------


def dial_of(response) -> ET.Element:
    root = twiml(response)
    dial = root.find("Dial")
    assert dial is not None, response.content
    return dial


def test_pressing_1_dials_the_assigned_specialist(
    client, frozen, django_capture_on_commit_callbacks
):
    case = open_case(django_capture_on_commit_callbacks, specialist_phone=SPECIALIST_PHONE)
    call = attempt_of(case, ContactAttempt.Channel.CALL)

    dial = dial_of(twilio_post(client, path_of("call-gather", call), {"Digits": "1"}))

    number = dial.find("Number")
    assert number.text == SPECIALIST_PHONE
    assert number.get("url") == BASE + path_of("call-connected", call)
    assert dial.get("action") == BASE + path_of("call-dial", call)
    assert dial.get("callerId") == FROM_NUMBER


def test_pressing_1_dials_the_desk_when_the_specialist_has_no_phone(client, case, call):
    dial = dial_of(twilio_post(client, path_of("call-gather", call), {"Digits": "1"}))
    assert dial.find("Number").text == DESK_PHONE


def test_pressing_1_with_nobody_to_dial_says_so_and_hangs_up(client, case, call, twilio_settings):
    twilio_settings.AHA_DESK_PHONE = ""
    root = twiml(twilio_post(client, path_of("call-gather", call), {"Digits": "1"}))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "specialists are busy" in root.find("Say").text


@pytest.mark.parametrize("digits", ["2", "0", "*", ""])
def test_another_key_hangs_up_without_dialling(client, case, call, digits):
    root = twiml(twilio_post(client, path_of("call-gather", call), {"Digits": digits}))

    assert [child.tag for child in root] == ["Say", "Hangup"]
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED


def test_the_specialist_answering_makes_the_case_contacted_within_the_deadline(
    client, frozen, case, call
):
    frozen.move_to(OPENED_AT + dt.timedelta(minutes=2))

    root = twiml(twilio_post(client, path_of("call-connected", call), {"CallSid": "CA1"}))

    assert "connecting seller Acme Garden Supplies" in root.find("Say").text
    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED
    assert case.sla_met is True
    assert case.contacted_at == OPENED_AT + dt.timedelta(minutes=2)
    assert case.next_action_at is None
    call.refresh_from_db()
    assert call.outcome == ContactAttempt.Outcome.CONNECTED
    assert call.connected_at == OPENED_AT + dt.timedelta(minutes=2)
    [event] = contact_events(case)
    assert (event.from_status, event.actor_process) == ("opened", "twilio call")


def test_the_connection_replayed_and_then_the_dial_result_contact_the_case_once(
    client, frozen, case, call
):
    connected = path_of("call-connected", call)
    twilio_post(client, connected, {"CallSid": "CA1"})
    frozen.move_to(OPENED_AT + dt.timedelta(minutes=9))
    twilio_post(client, connected, {"CallSid": "CA1"})
    response = twilio_post(
        client, path_of("call-dial", call), {"CallSid": "CA1", "DialCallStatus": "completed"}
    )

    assert [child.tag for child in twiml(response)] == ["Hangup"]
    case.refresh_from_db()
    assert case.contacted_at == OPENED_AT
    assert len(contact_events(case)) == 1
    assert statuses(call).count("connected") == 1
    assert call.connected_at == OPENED_AT


def test_a_completed_dial_whose_whisper_was_lost_still_contacts_the_case(client, case, call):
    response = twilio_post(
        client, path_of("call-dial", call), {"CallSid": "CA1", "DialCallStatus": "completed"}
    )

    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.sla_met) == (Case.Status.CONTACTED, True)
    assert len(contact_events(case)) == 1


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_a_dial_the_specialist_did_not_answer_leaves_the_case_opened(
    client, case, call, dial_status
):
    twilio_post(client, path_of("call-dial", call), {"DialCallStatus": dial_status})

    case.refresh_from_db()
    assert case.status == Case.Status.OPENED
    assert contact_events(case) == []
    call.refresh_from_db()
    assert call.connected_at is None
