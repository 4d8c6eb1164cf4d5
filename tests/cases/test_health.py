"""Account-health cases (issue 15): opened when a seller's rating leaves Healthy, worked
like any case, closed by themselves once it is Healthy again (cases.health)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from cases.health import business_days_after
from cases.models import Case, CaseEvent
from cases.timers import sweep_due_cases
from notifications.models import ContactAttempt
from sellers.models import BandChange, SellerNotification
from sellers.services import ahr_ingest, assurance_evaluate
from sellers.services.notices import notification_preferences_set
from tests.builders import enrolled_seller, open_case, race
from tests.factories import SellerFactory, SpecialistFactory, ViolationFactory

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")
Kind = Case.Kind


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LA)


@pytest.fixture
def push(committed):
    def push(seller, score: int, *, day: dt.date):
        rows = [{"seller_id": seller.seller_id, "date": day.isoformat(), "score": score}]
        summary = committed(ahr_ingest, rows, today=day)
        assert summary.rejected == []
        return summary

    return push


def health_cases(seller):
    return Case.objects.filter(seller=seller, kind=Kind.ACCOUNT_HEALTH)


def test_a_drop_to_at_risk_opens_one_case_emails_at_once_and_calls_in_the_morning(push):
    specialist = SpecialistFactory()
    seller = enrolled_seller()
    ViolationFactory(seller=seller, policy_area="late_shipment_rate", points=10)
    ViolationFactory(seller=seller, policy_area="a_to_z_claims", points=40, severity="critical")
    # 22:00 in Los Angeles: inside the quiet hours.
    with time_machine.travel(local(2026, 3, 2, 22, 0), tick=False):
        push(seller, 640, day=dt.date(2026, 3, 1))
        assert not health_cases(seller).exists(), "a Healthy value opens nothing"
        push(seller, 180, day=dt.date(2026, 3, 2))
        push(seller, 170, day=dt.date(2026, 3, 2))  # the same day corrected: still one case
    case = health_cases(seller).get()
    assert case.status == Case.Status.OPENED
    assert not case.assured
    assert case.reach_deadline is None
    assert case.policy_area == "a_to_z_claims", "the violation costing the most points leads"
    assert case.severity == "high"
    assert case.assigned_to == specialist.user
    # Monday 22:00 + one business day = Tuesday 22:00 local.
    assert case.first_attempt_due == local(2026, 3, 3, 22, 0)
    attempts = ContactAttempt.objects.filter(case=case)
    assert [a.channel for a in attempts] == ["email"], "the email at once, no call at night"
    assert "A-to-z claims" in attempts[0].body
    notice = seller.notifications.get(kind=SellerNotification.Kind.ACCOUNT_HEALTH)
    assert notice.link == f"/portal/sellers/{seller.seller_id}/"
    assert seller.notifications.filter(kind=SellerNotification.Kind.BAND_CHANGE).count() == 1
    assert BandChange.objects.get(seller=seller).to_band == "at_risk"

    with time_machine.travel(local(2026, 3, 3, 7, 59), tick=False):
        sweep_due_cases()
    assert not attempts.filter(channel="call").exists()
    with time_machine.travel(local(2026, 3, 3, 8, 0), tick=False):
        sweep_due_cases()
        sweep_due_cases()
    assert attempts.filter(channel="call").count() == 1
    assert attempts.filter(channel="sms").count() == 1
    case.refresh_from_db()
    assert case.first_attempt_at == local(2026, 3, 3, 8, 0) <= case.first_attempt_due
    assert case.next_action_at is None, "no retries, no deadline, no escalation"


def test_fourteen_healthy_days_in_a_row_close_the_case_by_itself(push, settings):
    seller = enrolled_seller()
    day = dt.date(2026, 3, 2)
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(seller, 150, day=day)
    case = health_cases(seller).get()
    # Healthy for 13 days, a dip, then 14 more.
    scores = [300] * 13 + [190] + [300] * 14
    for offset, score in enumerate(scores, start=1):
        today = day + dt.timedelta(days=offset)
        with time_machine.travel(dt.datetime.combine(today, dt.time(12), LA), tick=False):
            push(seller, score, day=today)
        case.refresh_from_db()
        if offset < len(scores):
            assert case.status == Case.Status.OPENED, f"closed early, on day {offset}"
    assert case.status == Case.Status.RESOLVED
    assert "Healthy for 14 days in a row" in case.resolution_reason
    event = case.events.get(transition="recover")
    assert (event.from_status, event.to_status, event.actor_process) == (
        "opened",
        "resolved",
        "account health",
    )
    assert health_cases(seller).count() == 1, "the dip inside an open case opens no other"
    closed = seller.notifications.get(dedupe_key=f"case:{case.pk}:recovered")
    assert closed.email_wanted


def test_the_daily_evaluation_closes_a_recovered_case_without_new_values(push):
    seller = enrolled_seller()
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(seller, 150, day=dt.date(2026, 3, 2))
        push(seller, 400, day=dt.date(2026, 3, 2) + dt.timedelta(days=1))
    with time_machine.travel(local(2026, 3, 20, 12), tick=False):
        assurance_evaluate(day=dt.date(2026, 3, 15))
    assert health_cases(seller).get().status == Case.Status.OPENED
    with time_machine.travel(local(2026, 3, 20, 12), tick=False):
        assurance_evaluate(day=dt.date(2026, 3, 16))
    assert health_cases(seller).get().status == Case.Status.RESOLVED


def test_a_drop_into_unhealthy_raises_the_open_case_and_warns_its_specialist(push):
    specialist = SpecialistFactory()
    seller = enrolled_seller()
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(seller, 150, day=dt.date(2026, 3, 2))
    with time_machine.travel(local(2026, 3, 3, 12), tick=False):
        push(seller, 60, day=dt.date(2026, 3, 3))
    case = health_cases(seller).get()
    assert case.severity == "critical"
    warning = case.events.get(kind=CaseEvent.Kind.WARNING)
    assert "fell to 60 (Unhealthy)" in warning.reason
    sent = ContactAttempt.objects.get(case=case, purpose="health_warning")
    assert sent.destination == specialist.user.email
    assert "Unhealthy" in sent.email_subject


def test_a_critical_policy_case_keeps_its_own_promise_beside_an_account_health_case(push):
    seller = enrolled_seller()
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        critical = open_case(seller)
        push(seller, 150, day=dt.date(2026, 3, 2))
    health = health_cases(seller).get()
    critical.refresh_from_db()
    assert critical.kind == Kind.CRITICAL_POLICY
    assert critical.assured
    assert critical.reach_deadline == local(2026, 3, 5, 12)
    assert health.pk != critical.pk
    assert health.reach_deadline is None


def test_a_first_value_below_healthy_opens_a_case_and_a_healthy_one_is_no_news(push):
    healthy, at_risk = SellerFactory(), SellerFactory()
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(healthy, 700, day=dt.date(2026, 3, 2))
        push(at_risk, 120, day=dt.date(2026, 3, 2))
    assert not health_cases(healthy).exists()
    assert not BandChange.objects.filter(seller=healthy).exists()
    assert not healthy.notifications.exists()
    assert health_cases(at_risk).get().severity == "high"


def test_sellers_not_enrolled_get_account_health_cases_too(push):
    seller = SellerFactory(account_type="individual")
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(seller, 700, day=dt.date(2026, 3, 1))
        push(seller, 90, day=dt.date(2026, 3, 2))
    case = health_cases(seller).get()
    assert case.severity == "critical"


def test_an_email_kind_switched_off_is_not_sent_but_urgent_kinds_are(push):
    seller = enrolled_seller()
    notification_preferences_set(seller=seller, email={"account_health": False})
    with time_machine.travel(local(2026, 3, 2, 12), tick=False):
        push(seller, 150, day=dt.date(2026, 3, 2))
    case = health_cases(seller).get()
    assert not ContactAttempt.objects.filter(case=case, channel="email").exists()
    assert case.events.filter(reason__contains="turned these emails off").exists()
    with time_machine.travel(local(2026, 3, 2, 13), tick=False):
        critical = open_case(seller)
        sweep_due_cases()
    assert ContactAttempt.objects.filter(case=critical, channel="email").exists()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 3, 2, 9, 30), local(2026, 3, 3, 9, 30)),  # Monday → Tuesday
        (local(2026, 3, 6, 15, 0), local(2026, 3, 9, 15, 0)),  # Friday → Monday
        (local(2026, 3, 7, 15, 0), local(2026, 3, 10, 0, 0)),  # Saturday → Monday's end
        (local(2026, 3, 8, 23, 0), local(2026, 3, 10, 0, 0)),  # Sunday night, DST day
    ],
)
def test_one_business_day_is_counted_in_the_sellers_week(moment, expected):
    assert business_days_after(moment, "America/Los_Angeles", 1) == expected


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real races need PostgreSQL (row locks)"
)
@pytest.mark.django_db(transaction=True)
def test_evaluations_racing_on_one_seller_open_one_account_health_case():
    sellers = [SellerFactory() for _ in range(3)]
    day = dt.date(2026, 3, 2)
    rows = [{"seller_id": s.seller_id, "date": day.isoformat(), "score": 150} for s in sellers]

    def ingest():
        return ahr_ingest(rows, today=day)

    with time_machine.travel(local(2026, 3, 2, 12), tick=True):
        answers = race([ingest] * 6)
        # The daily evaluation at the same time finds the moves made already.
        answers += race([lambda: assurance_evaluate(day=day)] * 2)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    for seller in sellers:
        case = health_cases(seller).get()
        assert case.events.filter(kind=CaseEvent.Kind.OPENED).count() == 1
        assert seller.notifications.filter(kind=SellerNotification.Kind.ACCOUNT_HEALTH).count() == 1
        assert seller.notifications.filter(kind=SellerNotification.Kind.BAND_CHANGE).count() == 0
