"""Verifying the emergency contact number with a one-time code on the seller portal.

The console adapter (the default without Twilio credentials) stands in for Twilio Verify:
``ConsoleChannels.code_for(sid)`` is the code it "sent". Where the channel must fail, the
real ``twilio`` SDK talks to the local Twilio stand-in (``tests/twilio_fake.py``).
"""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.roles import Role
from notifications.channels import ConsoleChannels, channels
from sellers.assurance import Rules
from sellers.models import AssuranceState, EmergencyContact, PhoneVerification, Seller, Store
from sellers.selectors import seller_facts
from sellers.services import ahr_ingest
from sellers.services.verification import verification_check, verification_send
from tests.builders import race
from tests.factories import (
    AdminFactory,
    PhoneVerificationFactory,
    SellerFactory,
    UnverifiedContactFactory,
    UserFactory,
)
from tests.sellers.test_portal import text_of
from tests.twilio_fake import twilio_fake

__all__ = ["twilio_fake"]  # the fixture, for the tests that need a failing Twilio

pytestmark = pytest.mark.django_db

# 10:00 in the US store (America/Los_Angeles, PDT).
NOW = dt.datetime(2026, 3, 15, 17, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
MOBILE = "+14155550101"
MASKED = "+*********01"  # in the admin and the logs
SELLER_MASKED = "(***) ***-0101"  # the seller's own number, to the seller
NEW_NUMBER = "+14155550123"
LANDLINE = "+493012345678"  # a Berlin fixed line: takes calls, not texts


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def console_channels(settings):
    settings.NOTIFICATIONS_CHANNELS = "console"


@pytest.fixture
def sol():
    return UserFactory(username="sol", role=Role.SELLER)


@pytest.fixture
def seller(sol):
    """Six good months of AHR: eligible in every way but the unverified contact."""
    seller = SellerFactory(seller_id="A-SOL", name="Sunny Goods")
    seller.users.add(sol)
    UnverifiedContactFactory(seller=seller, phone=MOBILE)
    rows = []
    day = dt.date(2025, 9, 1)
    while day <= TODAY:
        rows.append({"seller_id": seller.seller_id, "date": day.isoformat(), "score": 600})
        day += dt.timedelta(days=1)
    ahr_ingest(rows, today=TODAY)
    return seller


@pytest.fixture
def portal(client, sol):
    client.force_login(sol)
    return client


def page_url(seller) -> str:
    """The contact and its verification are on the notification preferences page."""
    return f"/portal/sellers/{seller.seller_id}/preferences/"


def send(client, seller, channel: str = "sms"):
    return client.post(f"/portal/sellers/{seller.seller_id}/contact/code/", {"channel": channel})


def enter(client, seller, code: str):
    return client.post(f"/portal/sellers/{seller.seller_id}/contact/verify/", {"code": code})


def latest(seller) -> PhoneVerification:
    return PhoneVerification.objects.filter(seller=seller).latest("sent_at", "pk")


def right_code(seller) -> str:
    return ConsoleChannels.code_for(latest(seller).verification_sid)


def wrong_code(seller) -> str:
    return f"{(int(right_code(seller)) + 1) % 1_000_000:06d}"


def contact_of(seller) -> EmergencyContact:
    return EmergencyContact.objects.get(seller=seller)


def messages_of(response) -> str:
    return text_of(response, "messages", "class")


# --- the happy path --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "said", "shown"),
    [
        ("sms", f"We have texted a code to {SELLER_MASKED}.", "by text message"),
        ("call", f"We are calling {SELLER_MASKED} to read you a code.", "by voice call"),
    ],
)
def test_right_code_by_sms_or_call_verifies_the_number_and_makes_the_seller_eligible(
    portal, sol, seller, channel, said, shown
):
    assert AssuranceState.objects.get(seller=seller).contact_valid is False
    page = portal.get(page_url(seller))
    assert "Verification by a one-time code" in text_of(page, "verify-contact")
    assert text_of(page, "verification-state") == "No code sent"

    response = send(portal, seller, channel)
    assert response.status_code == 302
    assert response.url == f"{page_url(seller)}#verify-contact"
    sent = latest(seller)
    assert (sent.channel, str(sent.phone), sent.requested_by) == (channel, MOBILE, sol)
    assert sent.sent_at == NOW
    page = portal.get(response.url)
    assert messages_of(page) == f"{said} Enter it below within 10 minutes."
    assert text_of(page, "verification-state") == (
        f"Code sent {shown} to {SELLER_MASKED} at 10:00 PDT; it is good until 10:10 PDT."
    )

    response = enter(portal, seller, right_code(seller))
    assert response.status_code == 302
    page = portal.get(response.url)
    assert messages_of(page) == (
        "Your emergency contact number +1 415-555-0101 is verified. "
        "It now counts for Account Health Assurance."
    )
    assert text_of(page, "contact-state") == "Verified"
    assert text_of(page, "verification-state").startswith("Verified ✓")
    contact = contact_of(seller)
    assert contact.verified_at == NOW
    assert contact.verified_by == EmergencyContact.VerifiedBy.CODE
    assert contact.verified_by_user == sol
    assert latest(seller).verified_at == NOW
    # The contact now counts: the facts of the rules and the stored state agree.
    fresh = Seller.objects.get(pk=seller.pk)
    assert seller_facts(fresh, day=TODAY, rules=Rules.current()).contact_problem is None
    state = AssuranceState.objects.get(seller=seller)
    assert (state.contact_valid, state.eligible, state.enrolled) == (True, True, True)


def test_code_may_be_typed_with_spaces(portal, seller):
    send(portal, seller)
    code = right_code(seller)
    enter(portal, seller, f" {code[:3]} {code[3:]} ")
    assert contact_of(seller).verified_at == NOW


# --- wrong codes and the lock-out --------------------------------------------------------


def test_wrong_code_says_how_many_tries_are_left_and_verifies_nothing(portal, seller):
    send(portal, seller)
    wrong = wrong_code(seller)
    response = enter(portal, seller, wrong)
    assert response.status_code == 200
    assert (
        text_of(response, "check-code-errors") == "That code is not right. You have 4 tries left."
    )
    assert wrong not in response.content.decode()  # the box is empty for the next try
    response = enter(portal, seller, wrong_code(seller))
    assert (
        text_of(response, "check-code-errors") == "That code is not right. You have 3 tries left."
    )
    assert latest(seller).wrong_attempts == 2
    assert contact_of(seller).verified_at is None


def test_five_wrong_codes_lock_out_even_the_right_code_until_the_lock_ends(portal, seller, clock):
    send(portal, seller)
    for _ in range(4):
        enter(portal, seller, wrong_code(seller))
    response = enter(portal, seller, wrong_code(seller))
    assert text_of(response, "check-code-errors") == (
        "That code is not right, and that was the last try. Too many wrong codes: to protect "
        "your account, we cannot send or check codes until 10:30 PDT (in 30 minutes). "
        "Then ask for a new code."
    )
    assert latest(seller).locked_until == NOW + dt.timedelta(minutes=30)

    clock.move_to(NOW + dt.timedelta(minutes=10))
    response = enter(portal, seller, right_code(seller))
    assert text_of(response, "check-code-errors") == (
        "Too many wrong codes: to protect your account, we cannot send or check codes "
        "until 10:30 PDT (in 20 minutes). Then ask for a new code."
    )
    response = send(portal, seller, "call")
    assert "until 10:30 PDT (in 20 minutes)" in text_of(response, "send-code-errors")
    assert PhoneVerification.objects.filter(seller=seller).count() == 1
    page = portal.get(page_url(seller))
    assert text_of(page, "verification-state").startswith("Locked Too many wrong codes.")
    assert "10:30 PDT" in text_of(page, "verification-state")
    assert contact_of(seller).verified_at is None

    # The lock has ended: the spent code stays spent, a new one works.
    clock.move_to(NOW + dt.timedelta(minutes=30))
    response = enter(portal, seller, right_code(seller))
    assert text_of(response, "check-code-errors") == (
        "Too many wrong codes were entered for this code. Ask for a new code."
    )
    assert send(portal, seller).status_code == 302
    assert enter(portal, seller, right_code(seller)).status_code == 302
    assert contact_of(seller).verified_at == NOW + dt.timedelta(minutes=30)


def test_buttons_are_disabled_while_locked_out(portal, seller):
    send(portal, seller)
    for _ in range(5):
        enter(portal, seller, wrong_code(seller))
    content = portal.get(page_url(seller)).content.decode()
    assert 'value="sms" class="primary" disabled data-testid="send-sms"' in content
    assert 'value="call" class="primary" disabled data-testid="send-call"' in content


def test_code_expires_after_ten_minutes(portal, seller, clock):
    send(portal, seller)
    clock.move_to(NOW + dt.timedelta(minutes=10))
    response = enter(portal, seller, right_code(seller))
    assert text_of(response, "check-code-errors") == (
        "This code has expired: a code is good for 10 minutes. Ask for a new code."
    )
    assert latest(seller).wrong_attempts == 0
    assert contact_of(seller).verified_at is None


def test_only_the_latest_code_counts(portal, seller):
    send(portal, seller)
    first = right_code(seller)
    send(portal, seller, "call")
    response = enter(portal, seller, first)
    assert (
        text_of(response, "check-code-errors") == "That code is not right. You have 4 tries left."
    )
    enter(portal, seller, right_code(seller))
    assert contact_of(seller).verified_at == NOW


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "１２３４５６"])
def test_code_must_be_six_digits_and_a_badly_typed_one_costs_no_try(portal, seller, code):
    send(portal, seller)
    response = enter(portal, seller, code)
    assert text_of(response, "check-code-errors") == (
        "Enter the 6-digit code we sent you, digits only."
    )
    assert latest(seller).wrong_attempts == 0


def test_empty_code_is_asked_for(portal, seller):
    send(portal, seller)
    response = enter(portal, seller, "")
    assert text_of(response, "check-code-errors") == "Enter the 6-digit code we sent you."


def test_a_code_before_any_was_sent_is_refused(portal, seller):
    response = enter(portal, seller, "123456")
    assert response.status_code == 200
    assert text_of(response, "check-code-errors") == (
        "We have not sent you a code yet. Ask for one by text or call first."
    )


# --- how many codes may be sent ---------------------------------------------------------


def test_five_codes_an_hour_then_the_seller_is_told_when_to_ask_again(portal, seller, clock):
    for minute in range(0, 25, 5):  # 10:00, 10:05 ... 10:20
        clock.move_to(NOW + dt.timedelta(minutes=minute))
        assert send(portal, seller).status_code == 302
    response = send(portal, seller, "call")
    assert response.status_code == 200
    assert text_of(response, "send-code-errors") == (
        "You have asked for 5 codes in the last hour, the most we send. You can ask for a new "
        "code at 11:00 PDT (in 40 minutes)."
    )
    assert PhoneVerification.objects.filter(seller=seller).count() == 5
    # The latest code can still be entered meanwhile; the page says when to ask again.
    page = portal.get(page_url(seller))
    assert "You can ask for a new one from 11:00 PDT" in text_of(page, "send-limit")

    clock.move_to(NOW + dt.timedelta(hours=1))
    assert send(portal, seller, "call").status_code == 302
    assert PhoneVerification.objects.filter(seller=seller).count() == 6


# --- the number changes --------------------------------------------------------------------


def test_a_code_sent_to_the_old_number_does_not_verify_a_new_number(portal, seller):
    send(portal, seller)
    code = right_code(seller)
    portal.post(f"/portal/sellers/{seller.seller_id}/contact/", {"phone": NEW_NUMBER})

    response = enter(portal, seller, code)
    assert text_of(response, "check-code-errors") == (
        f"The last code was sent to {SELLER_MASKED}, which is no longer your emergency contact "
        "number. Ask for a new code for +1 415-555-0123."
    )
    contact = contact_of(seller)
    assert str(contact.phone) == NEW_NUMBER
    assert contact.verified_at is None
    assert text_of(portal.get(page_url(seller)), "verification-state").startswith("No code sent")

    send(portal, seller)
    assert str(latest(seller).phone) == NEW_NUMBER
    enter(portal, seller, right_code(seller))
    assert contact_of(seller).verified_at == NOW


def test_a_new_number_after_verifying_must_be_verified_again(portal, seller):
    send(portal, seller)
    enter(portal, seller, right_code(seller))
    portal.post(
        f"/portal/sellers/{seller.seller_id}/contact/", {"phone": NEW_NUMBER, "confirm": "1"}
    )
    assert contact_of(seller).verified_at is None
    assert AssuranceState.objects.get(seller=seller).contact_valid is False
    page = portal.get(page_url(seller))
    assert text_of(page, "verification-state") == "No code sent"


def test_a_verified_number_needs_no_code(portal, seller):
    send(portal, seller)
    enter(portal, seller, right_code(seller))
    response = send(portal, seller)
    assert (
        text_of(response, "send-code-errors") == "This number is already verified: nothing to do."
    )
    assert PhoneVerification.objects.filter(seller=seller).count() == 1


def test_without_a_number_no_code_is_sent(portal, sol):
    seller = SellerFactory(seller_id="A-EMPTY")
    seller.users.add(sol)
    response = send(portal, seller)
    assert text_of(response, "send-code-errors") == (
        "Add your emergency contact number first; then we can send it a code."
    )
    assert not PhoneVerification.objects.exists()


# --- landlines -------------------------------------------------------------------------------


def test_a_landline_is_offered_the_voice_call_only(portal, sol):
    seller = SellerFactory(seller_id="A-BERLIN", store=Store.objects.get(code="DE"))
    seller.users.add(sol)
    UnverifiedContactFactory(seller=seller, phone=LANDLINE)
    page = portal.get(page_url(seller))
    content = page.content.decode()
    assert 'disabled aria-describedby="no-sms-reason" data-testid="send-sms"' in content
    assert 'value="call" class="primary" data-testid="send-call"' in content
    assert "cannot receive text messages" in text_of(page, "no-sms-reason")

    response = send(portal, seller, "sms")
    assert response.status_code == 200
    assert "Choose “Call me with a code”" in text_of(response, "send-code-errors")
    assert not PhoneVerification.objects.exists()

    assert send(portal, seller, "call").status_code == 302
    page = portal.get(page_url(seller))
    # Times are the seller's: the Berlin store is at 18:00 (CET).
    assert text_of(page, "verification-state") == (
        "Code sent by voice call to *** ****5678 at 18:00 CET; it is good until 18:10 CET."
    )
    enter(portal, seller, right_code(seller))
    assert contact_of(seller).verified_at == NOW


# --- who may do it ---------------------------------------------------------------------------


def test_another_sellers_login_cannot_send_or_verify_for_this_seller(client, seller):
    other = UserFactory(username="otto", role=Role.SELLER)
    SellerFactory(seller_id="A-OTTO").users.add(other)
    verification_send(seller=seller, by=None, channel="sms", codes=channels())
    client.force_login(other)
    assert send(client, seller).status_code == 404
    assert enter(client, seller, right_code(seller)).status_code == 404
    assert PhoneVerification.objects.filter(seller=seller).count() == 1
    assert latest(seller).wrong_attempts == 0
    assert contact_of(seller).verified_at is None


def test_specialists_are_refused_and_anonymous_visitors_sent_to_sign_in(client, seller):
    response = send(client, seller)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    client.force_login(UserFactory(role=Role.SPECIALIST))
    assert send(client, seller).status_code == 403
    assert enter(client, seller, "123456").status_code == 403
    assert not PhoneVerification.objects.exists()


def test_codes_are_asked_for_by_post_with_a_csrf_token(seller, sol):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sol)
    # A GET sends nothing: it goes back to the account page (no 405 after an error page).
    assert client.get(f"/portal/sellers/{seller.seller_id}/contact/code/").status_code == 302
    assert send(client, seller).status_code == 403
    assert not PhoneVerification.objects.exists()


def test_superuser_support_can_send_a_code_from_the_sellers_page(client, seller):
    admin = AdminFactory()
    client.force_login(admin)
    assert send(client, seller, "call").status_code == 302
    assert latest(seller).requested_by == admin


# --- the channel fails -----------------------------------------------------------------------


def test_a_failing_channel_shows_a_message_and_changes_nothing(portal, seller, twilio_fake):
    twilio_fake.fail_next(status=503, operation="CreateVerification")
    response = send(portal, seller)
    assert response.status_code == 200
    assert text_of(response, "send-code-errors") == (
        "We could not send a code just now, try again in a minute."
    )
    assert not PhoneVerification.objects.exists()  # it does not count against the limit

    assert send(portal, seller).status_code == 302
    code = twilio_fake.last_code(MOBILE)
    twilio_fake.fail_next(status=500, operation="CreateVerificationCheck")
    response = enter(portal, seller, code)
    assert text_of(response, "check-code-errors") == (
        "We could not check your code just now, try again in a minute."
    )
    assert latest(seller).wrong_attempts == 0
    assert contact_of(seller).verified_at is None

    assert enter(portal, seller, code).status_code == 302
    assert contact_of(seller).verified_at == NOW


def test_a_number_the_provider_refuses_gets_its_own_message(portal, seller, twilio_fake):
    twilio_fake.reject_number(MOBILE)
    response = send(portal, seller, "call")
    assert text_of(response, "send-code-errors") == (
        "We could not send a code to this number. Check that the number is right, or try the "
        "other way (text or call)."
    )
    assert not PhoneVerification.objects.exists()


def test_a_code_twilio_sends_again_keeps_its_wrong_tries(portal, seller, twilio_fake):
    send(portal, seller)
    code = twilio_fake.last_code(MOBILE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        enter(portal, seller, wrong)
    send(portal, seller, "call")  # still pending at Twilio: the same code, read out
    first, second = PhoneVerification.objects.filter(seller=seller).order_by("pk")
    assert first.verification_sid == second.verification_sid
    assert second.wrong_attempts == 3
    response = enter(portal, seller, wrong)
    assert text_of(response, "check-code-errors") == "That code is not right. You have 1 try left."
    assert enter(portal, seller, code).status_code == 302
    assert contact_of(seller).verified_at == NOW


# --- the service on its own ------------------------------------------------------------------


def test_service_errors_name_their_field(seller, sol):
    with pytest.raises(ValidationError) as error:
        verification_send(seller=seller, by=sol, channel="fax", codes=channels())
    assert error.value.message_dict == {"channel": ["Choose a text message (SMS) or a voice call."]}
    with pytest.raises(ValidationError) as error:
        verification_check(seller=seller, by=sol, code="12", codes=channels())
    assert list(error.value.message_dict) == ["code"]


def test_the_limits_are_settings(seller, sol, settings):
    settings.AHA = {**settings.AHA, "VERIFY_MAX_WRONG_CODES": 2, "VERIFY_MAX_SENDS_PER_HOUR": 1}
    verification = verification_send(seller=seller, by=sol, channel="sms", codes=channels())
    code = ConsoleChannels.code_for(verification.verification_sid)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError, match="1 try left"):
        verification_check(seller=seller, by=sol, code=wrong, codes=channels())
    with pytest.raises(ValidationError, match="that was the last try"):
        verification_check(seller=seller, by=sol, code=wrong, codes=channels())
    with pytest.raises(ValidationError, match=r"codes in the last hour|cannot send or check"):
        verification_send(seller=seller, by=sol, channel="sms", codes=channels())


def test_admin_lists_codes_read_only_and_finds_them_by_seller_id(client, seller):
    PhoneVerificationFactory(seller=seller)
    client.force_login(AdminFactory())
    response = client.get("/admin/sellers/phoneverification/", {"q": "A-SOL"})
    assert response.status_code == 200
    assert MASKED in response.content.decode()
    assert MOBILE not in response.content.decode()
    assert client.get("/admin/sellers/phoneverification/add/").status_code == 403


# --- real races (PostgreSQL) -------------------------------------------------------------------


def on_postgres(test: Callable) -> Callable:
    """PostgreSQL only (SQLite serialises every write), committed so threads see the rows."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason="real races need PostgreSQL; run with DATABASE_URL=postgres://...",
        ),
        pytest.mark.django_db(transaction=True),
    ):
        test = mark(test)
    return test


@on_postgres
def test_quick_wrong_codes_at_once_get_no_extra_tries(seller, sol):
    verification_send(seller=seller, by=sol, channel="sms", codes=channels())
    wrong = wrong_code(seller)
    for _ in range(3):
        with pytest.raises(ValidationError):
            verification_check(seller=seller, by=sol, code=wrong, codes=channels())

    answers = race(
        [lambda: verification_check(seller=seller, by=sol, code=wrong, codes=channels())] * 6
    )

    # Two tries were left: two codes were checked and found wrong, four were refused unchecked.
    messages = [" ".join(answer.messages) for answer in answers]
    checked = [message for message in messages if message.startswith("That code is not right")]
    refused = [message for message in messages if message.startswith("Too many wrong codes")]
    assert (len(checked), len(refused)) == (2, 4), messages
    assert latest(seller).wrong_attempts == 5
    assert latest(seller).locked_until is not None


@on_postgres
def test_presses_at_once_send_no_more_than_the_hourly_limit(seller, sol):
    answers = race(
        [lambda: verification_send(seller=seller, by=sol, channel="sms", codes=channels())] * 8
    )
    sent = [answer for answer in answers if isinstance(answer, PhoneVerification)]
    refused = [answer for answer in answers if isinstance(answer, ValidationError)]
    assert (len(sent), len(refused)) == (5, 3)
    assert PhoneVerification.objects.filter(seller=seller).count() == 5
