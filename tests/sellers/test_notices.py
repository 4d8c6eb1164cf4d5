"""The notification centre's news from the sellers app (issue 15): enrollment and removal,
new violations; each posted once, in the seller's language, with its link, and emailed
as the seller's preferences say."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from sellers.assurance import Rules
from sellers.models import EnrollmentEvent, SellerNotification, Store, Violation
from sellers.services import (
    ahr_ingest,
    emergency_contact_set,
    seller_remove,
    seller_warn,
    violation_upsert_many,
)
from sellers.services.notices import notification_preferences_set
from sellers.tasks import send_notification_emails
from tests.factories import EmergencyContactFactory, SellerFactory, ViolationFactory
from tests.sellers.test_services import german_catalogue_exists

pytestmark = pytest.mark.django_db

D = dt.date
Kind = SellerNotification.Kind
HISTORY_FROM = D(2024, 9, 1)
ENROLLED_ON = D(2025, 3, 10)
TODAY = D(2026, 3, 2)


def every_day(start: dt.date, end: dt.date, score: int = 600) -> list[tuple[dt.date, int]]:
    return [(start + dt.timedelta(days=n), score) for n in range((end - start).days + 1)]


@pytest.fixture
def enroll(committed):
    def enroll(seller):
        rows = [
            {"seller_id": seller.seller_id, "date": day.isoformat(), "score": score}
            for day, score in every_day(HISTORY_FROM, ENROLLED_ON)
        ]
        with time_machine.travel(dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC), tick=False):
            summary = committed(ahr_ingest, rows, today=ENROLLED_ON)
        assert summary.enrollment["enrolled"] == 1
        return seller

    return enroll


def new_seller(store_code: str = "US"):
    Store.objects.filter(code=store_code).update(aha_enabled=True)
    seller = SellerFactory(store=Store.objects.get(code=store_code))
    EmergencyContactFactory(seller=seller)
    return seller


def notices(seller, kind: str) -> list[SellerNotification]:
    return list(seller.notifications.filter(kind=kind).order_by("created_at", "id"))


def portal(seller) -> str:
    return f"/portal/sellers/{seller.seller_id}/"


def german(text: str) -> str:
    with translation.override("de"):
        return translation.gettext(text)


# --- enrollment and removal -----------------------------------------------------------


def test_enrollment_posts_one_notification_whose_email_is_the_enrollment_email(enroll):
    seller = enroll(new_seller())

    [notice] = notices(seller, Kind.ENROLLMENT)
    assert notice.title == "Your account is now protected by Account Health Assurance"
    assert "your account is enrolled in Account Health Assurance" in notice.body
    assert "within 72 hours" in notice.body, "why it matters"
    assert "Keep that number current" in notice.body, "what to do"
    assert notice.link == portal(seller)
    assert notice.dedupe_key == f"enrollment:{EnrollmentEvent.objects.get(seller=seller).pk}"
    assert not notice.email_wanted, "the enrollment email is this notification's email"
    assert [message.subject for message in mail.outbox] == [notice.title]


def test_removal_and_both_warnings_post_an_enrollment_notification_each(enroll, committed):
    seller = enroll(new_seller())
    rules = Rules.current()
    day = ENROLLED_ON + dt.timedelta(days=1)
    committed(seller_warn, seller=seller, day=day, rules=rules, kind="warn_days_below")
    committed(seller_warn, seller=seller, day=day, rules=rules, kind="warn_contact")
    committed(seller_remove, seller=seller, day=day, rules=rules)

    _enrolled, days_below, contact, removed = notices(seller, Kind.ENROLLMENT)
    assert days_below.title == "Action needed to keep Account Health Assurance"
    assert "allowed in the last 6 months" in days_below.body
    assert "Verify a number within 7 days" in contact.body
    assert removed.title == "Your account has left Account Health Assurance"
    assert "enrolled again automatically" in removed.body
    assert all(not notice.email_wanted for notice in (days_below, contact, removed))
    assert {notice.link for notice in (days_below, contact, removed)} == {portal(seller)}
    assert len(mail.outbox) == 4, "one enrollment email per event, no second one"


def test_enrollment_email_switched_off_stops_the_email_but_not_the_notification(enroll, committed):
    seller = enroll(new_seller())
    mail.outbox.clear()
    notification_preferences_set(seller=seller, email={Kind.ENROLLMENT: False})
    with time_machine.travel(dt.datetime(2025, 3, 10, 13, tzinfo=dt.UTC), tick=False):
        committed(emergency_contact_set, seller=seller, phone="+12125550199")

    assert EnrollmentEvent.objects.filter(seller=seller, kind="warned_contact").exists()
    assert len(notices(seller, Kind.ENROLLMENT)) == 2
    assert mail.outbox == []


@pytest.mark.skipif(not german_catalogue_exists(), reason="no German translation (locale/de)")
def test_a_german_store_seller_reads_the_enrollment_notification_in_german(enroll):
    seller = enroll(new_seller("DE"))

    [notice] = notices(seller, Kind.ENROLLMENT)
    english = "Your account is now protected by Account Health Assurance"
    assert notice.title == german(english) != english
    assert "März 2025" in notice.body
    assert "Account Health Assurance aufgenommen" in notice.body


# --- new violations -------------------------------------------------------------------


def violation_row(seller, upstream_id: str, **fields) -> dict:
    return {
        "upstream_id": upstream_id,
        "seller_id": seller.seller_id,
        "policy_area": "late_shipment_rate",
        "severity": "high",
        "points": 30,
        "opened_on": "2026-03-01",
        **fields,
    }


def test_a_new_open_violation_is_posted_and_emailed_once(committed):
    seller = new_seller()
    rows = [violation_row(seller, "V-1")]
    committed(violation_upsert_many, rows=rows, today=TODAY)
    committed(violation_upsert_many, rows=rows, today=TODAY)  # the feed sent again
    committed(violation_upsert_many, rows=[{**rows[0], "points": 35}], today=TODAY)

    [notice] = notices(seller, Kind.VIOLATION)
    violation = Violation.objects.get(upstream_id="V-1")
    assert notice.dedupe_key == f"violation:{violation.pk}"
    assert notice.title == "New policy violation: Late shipment rate (high severity)"
    assert "It costs your Account Health Rating 30 points." in notice.body
    assert "fix it first" in notice.body
    assert notice.link == portal(seller)
    assert notice.email_wanted
    assert notice.emailed_at is not None
    [message] = mail.outbox
    assert message.subject == notice.title
    assert message.to == [seller.email]


def test_only_violations_created_open_are_posted(committed):
    seller = new_seller()
    ViolationFactory(seller=seller, upstream_id="OLD", status="resolved")
    rows = [
        violation_row(seller, "OLD"),  # reopened: not new
        violation_row(seller, "GONE", status="resolved", resolved_on="2026-03-02"),
        violation_row(seller, "NEW", points=1),
    ]
    committed(violation_upsert_many, rows=rows, today=TODAY)

    [notice] = notices(seller, Kind.VIOLATION)
    assert notice.dedupe_key == f"violation:{Violation.objects.get(upstream_id='NEW').pk}"
    assert "It costs your Account Health Rating 1 point." in notice.body
    assert "Fix the open violations that cost the most points first" in notice.body, (
        "the reopened violation costs more: fix that first"
    )


def test_many_violations_at_once_are_posted_set_based_each_in_its_sellers_language(committed):
    us = [new_seller() for _ in range(3)]
    de = new_seller("DE")
    rows = [
        violation_row(seller, f"V-{seller.pk}-{n}", points=10 * n, severity=severity)
        for seller in [*us, de]
        for n, severity in enumerate(["low", "critical"], start=1)
    ]
    committed(violation_upsert_many, rows=rows, today=TODAY)

    for seller in [*us, de]:
        assert len(notices(seller, Kind.VIOLATION)) == 2
    assert len(mail.outbox) == 8
    if german_catalogue_exists():
        [costly] = [n for n in notices(de, Kind.VIOLATION) if "20" in n.body]
        assert (
            costly.title
            == "Neuer Richtlinienverstoß: Verspätete Versandrate (Schweregrad kritisch)"
        )
        assert "Er kostet Ihre Kontostatus-Bewertung 20 Punkte." in costly.body
        assert "Beheben Sie ihn zuerst" in costly.body


def test_violation_email_switched_off_keeps_the_notification_without_email(committed):
    seller = new_seller()
    second = new_seller()
    notification_preferences_set(seller=seller, email={Kind.VIOLATION: False})
    notification_preferences_set(seller=second, second_email="deputy@example.test")
    committed(
        violation_upsert_many,
        rows=[violation_row(seller, "V-1"), violation_row(second, "V-2")],
        today=TODAY,
    )

    assert len(notices(seller, Kind.VIOLATION)) == 1
    [message] = mail.outbox
    assert message.to == [second.email, "deputy@example.test"]
    assert send_notification_emails() == 0, "each notification is emailed at most once"
