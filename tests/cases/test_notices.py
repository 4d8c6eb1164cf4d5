"""The notification centre's news from cases (issue 15, cases.notices): a critical case
opened, every milestone, plan steps due soon; each once, of the case's kind, in the
seller's language, with its link; emailed where it should be and as preferences say."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from accounts.roles import Role
from cases.models import Case
from cases.notices import plan_steps_announce_due
from cases.services import (
    case_add_note,
    case_assign,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
)
from cases.tasks import announce_plan_steps_due
from notifications.models import ContactAttempt
from sellers.models import NotificationPreferences, SellerNotification, Store
from sellers.services import ahr_ingest
from sellers.services.notices import notification_preferences_set
from tests.builders import enrolled_seller, open_case
from tests.factories import CaseFactory, SellerFactory, SpecialistFactory, UserFactory
from tests.sellers.test_services import german_catalogue_exists

pytestmark = pytest.mark.django_db
Kind = SellerNotification.Kind
LA = ZoneInfo("America/Los_Angeles")
MONDAY_NOON = dt.datetime(2026, 3, 2, 12, tzinfo=LA)


@pytest.fixture
def specialist():
    return SpecialistFactory().user


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


def notices(seller, kind: str | None = None) -> list[SellerNotification]:
    found = seller.notifications.order_by("created_at", "id")
    return list(found.filter(kind=kind) if kind else found)


def portal(seller) -> str:
    return f"/portal/sellers/{seller.seller_id}/"


def german(text: str) -> str:
    with translation.override("de"):
        return translation.gettext(text)


def health_case(seller=None) -> Case:
    return CaseFactory(seller=seller or enrolled_seller(), kind=Case.Kind.ACCOUNT_HEALTH)


def work_through(case: Case, *, by, committed) -> None:
    """Contact, a plan of one step, remediation, the step done, resolved."""
    committed(case_transition, case_id=case.pk, name="contact", by=by)
    step = remediation_step_add(
        case_id=case.pk,
        by=by,
        text="Refund the late orders",
        owner="seller",
        due_on=dt.date(2026, 3, 9),
    )
    committed(case_transition, case_id=case.pk, name="start_remediation", by=by)
    remediation_step_complete(step_id=step.pk, by=by)
    committed(case_transition, case_id=case.pk, name="resolve", by=by, reason="All fixed.")


# --- a critical-policy case opened ----------------------------------------------------


def test_an_opened_critical_case_is_posted_once_and_left_to_outreach_to_email(clock):
    seller = enrolled_seller()
    case = open_case(seller, upstream_id="UP-1")
    open_case(seller, upstream_id="UP-1")  # the same issue sent again

    [notice] = notices(seller)
    assert notice.kind == Kind.CRITICAL_CASE
    assert notice.title == f"A critical issue on your account needs your attention (case {case.pk})"
    assert "(Late shipment rate)" in notice.body
    assert "within 72 hours" in notice.body, "why it matters: the promise"
    assert "press Call Me Now" in notice.body, "what to do"
    assert notice.link == portal(seller)
    assert notice.dedupe_key == f"case:{case.pk}:opened"
    assert not notice.email_wanted, "the outreach email is its email"


@pytest.mark.skipif(not german_catalogue_exists(), reason="no German translation (locale/de)")
def test_a_german_store_seller_reads_the_opened_case_in_german(clock):
    case = open_case(enrolled_seller(store_code="DE", phone="+4915123456789"))

    [notice] = notices(case.seller)
    english = "A critical issue on your account needs your attention (case %(id)s)"
    assert german(english) != english
    assert notice.title == german(english) % {"id": case.pk}
    assert "Verspätete Versandrate" in notice.body


# --- milestones -----------------------------------------------------------------------


def test_every_milestone_of_a_critical_case_is_posted_once_without_email(
    clock, specialist, committed
):
    case = open_case(enrolled_seller())
    work_through(case, by=specialist, committed=committed)

    milestones = notices(case.seller)[1:]
    assert [notice.title for notice in milestones] == [
        f"A specialist has reached you about case {case.pk}",
        f"Your plan for case {case.pk} has started",
        f"Case {case.pk} is resolved",
    ]
    assert {notice.kind for notice in milestones} == {Kind.CRITICAL_CASE}
    assert {notice.link for notice in milestones} == {portal(case.seller)}
    assert not any(notice.email_wanted for notice in milestones), (
        "critical-case emails are urgent and would bypass the seller's preferences"
    )
    assert mail.outbox == []


def test_an_account_health_case_is_emailed_when_resolved_unless_switched_off(
    clock, specialist, committed
):
    case = health_case()
    quiet = health_case()
    notification_preferences_set(seller=quiet.seller, email={Kind.ACCOUNT_HEALTH: False})
    work_through(case, by=specialist, committed=committed)
    work_through(quiet, by=specialist, committed=committed)

    for each in (case, quiet):
        posted = notices(each.seller)
        assert [notice.kind for notice in posted] == [Kind.ACCOUNT_HEALTH] * 3
        assert [notice.email_wanted for notice in posted] == [False, False, True]
        assert posted[-1].emailed_at is not None
    [message] = mail.outbox
    assert message.to == [case.seller.email], "switched off: no email, the notice stays"
    assert message.subject == f"Case {case.pk} is resolved"


def test_escalations_and_reinstatement_are_each_posted_with_why_and_what_to_do(
    clock, specialist, committed
):
    manager = UserFactory(role=Role.MANAGER)
    case = open_case(enrolled_seller())
    committed(case_transition, case_id=case.pk, name="escalate", by=specialist, reason="Fraud.")
    committed(case_transition, case_id=case.pk, name="reinstate", by=manager, reason="Checked.")
    committed(case_transition, case_id=case.pk, name="escalate", by=specialist, reason="Again.")

    escalated, reinstated, again = notices(case.seller)[1:]
    assert escalated.title == again.title == f"Case {case.pk} was escalated for review"
    assert escalated.pk != again.pk, "a second escalation is news again"
    assert "passed the case on for review" in escalated.body
    assert "press Call Me Now" in escalated.body.replace("Press Call Me Now", "press Call Me Now")
    assert reinstated.title == f"Case {case.pk} is open again"
    assert "Fraud." not in escalated.body, "the desk's note stays on the desk"


def test_what_the_desk_keeps_to_itself_is_never_posted(clock, specialist):
    case = open_case(enrolled_seller())
    other = SpecialistFactory().user
    case_add_note(case_id=case.pk, by=specialist, text="Seller sounded unsure.")
    case_assign(case_id=case.pk, to=other, by=UserFactory(role=Role.MANAGER))

    assert len(notices(case.seller)) == 1, "only the opening"


def test_urgent_case_outreach_is_emailed_even_with_every_optional_email_off(
    clock, django_capture_on_commit_callbacks
):
    seller = enrolled_seller()
    notification_preferences_set(
        seller=seller, email=dict.fromkeys(NotificationPreferences.OPTIONAL_KINDS, False)
    )
    case = open_case(seller, capture=django_capture_on_commit_callbacks)

    emails = ContactAttempt.objects.filter(case=case, channel="email")
    assert [attempt.destination for attempt in emails] == [seller.email]


# --- plan steps due soon --------------------------------------------------------------


def step(case: Case, *, due_in: int, owner: str = "seller", by, done: bool = False):
    added = remediation_step_add(
        case_id=case.pk,
        by=by,
        text=f"Step due in {due_in} days",
        owner=owner,
        due_on=MONDAY_NOON.date() + dt.timedelta(days=due_in),
    )
    if done:
        remediation_step_complete(step_id=added.pk, by=by)
    return added


def test_a_step_due_in_two_days_is_announced_and_emailed_once(clock, specialist, committed):
    case = open_case(enrolled_seller())
    due_soon = step(case, due_in=2, by=specialist)
    step(case, due_in=3, by=specialist)
    step(case, due_in=1, by=specialist, done=True)
    step(case, due_in=1, owner="specialist", by=specialist)

    assert committed(announce_plan_steps_due) == 1
    assert committed(plan_steps_announce_due) == 0, "run twice: posted once"

    [notice] = notices(case.seller, Kind.PLAN_STEP)
    assert notice.dedupe_key == f"step:{due_soon.pk}:due"
    assert notice.title == "A step of your plan is due on March 4, 2026"
    assert f"“Step due in 2 days” (case {case.pk})" in notice.body
    assert "escalated for review" in notice.body
    assert notice.link == portal(case.seller)
    assert notice.email_wanted
    [message] = mail.outbox
    assert message.subject == notice.title

    clock.move_to(MONDAY_NOON + dt.timedelta(days=1))
    committed(plan_steps_announce_due)
    assert len(notices(case.seller, Kind.PLAN_STEP)) == 2, "a day later the next one is due"


def test_plan_step_emails_switched_off_still_post_the_notification(clock, specialist, committed):
    case = open_case(enrolled_seller())
    notification_preferences_set(seller=case.seller, email={Kind.PLAN_STEP: False})
    step(case, due_in=0, by=specialist)

    committed(plan_steps_announce_due)

    assert len(notices(case.seller, Kind.PLAN_STEP)) == 1
    assert mail.outbox == []


def test_steps_of_closed_cases_are_not_announced(clock, specialist, committed):
    case = open_case(enrolled_seller())
    step(case, due_in=1, by=specialist)
    committed(case_transition, case_id=case.pk, name="escalate", by=specialist, reason="Gone.")

    assert committed(plan_steps_announce_due) == 0


def test_due_soon_counts_from_the_sellers_local_date(specialist, committed):
    Store.objects.filter(code="DE").update(aha_enabled=True)
    us = enrolled_seller()
    de = SellerFactory(store=Store.objects.get(code="DE"))
    # Monday 23:30 UTC: still Monday in Los Angeles, already Tuesday in Berlin.
    moment = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        thursday = dt.date(2026, 3, 5)
        for seller in (us, de):
            case = CaseFactory(seller=seller)
            remediation_step_add(
                case_id=case.pk, by=specialist, text="Fix it", owner="seller", due_on=thursday
            )
        committed(plan_steps_announce_due)

    assert notices(us, Kind.PLAN_STEP) == [], "three days away in Los Angeles"
    [notice] = notices(de, Kind.PLAN_STEP)
    if german_catalogue_exists():
        assert notice.title == "Ein Schritt Ihres Plans ist am 5. März 2026 fällig"


# --- German ---------------------------------------------------------------------------


@pytest.mark.skipif(not german_catalogue_exists(), reason="no German translation (locale/de)")
def test_a_german_sellers_drop_to_at_risk_reads_in_german_on_the_portal_and_by_email(committed):
    seller = SellerFactory(store=Store.objects.get(code="DE"))
    rows = [
        {"seller_id": seller.seller_id, "date": day, "score": score}
        for day, score in (("2026-03-01", 640), ("2026-03-02", 180))
    ]
    with time_machine.travel(dt.datetime(2026, 3, 2, 11, tzinfo=ZoneInfo("Europe/Berlin"))):
        committed(ahr_ingest, rows[:1], today=dt.date(2026, 3, 1))
        committed(ahr_ingest, rows[1:], today=dt.date(2026, 3, 2))

    [opened] = notices(seller, Kind.ACCOUNT_HEALTH)
    assert opened.title == "Ein Account Health Specialist wird sich bei Ihnen melden"
    [band] = notices(seller, Kind.BAND_CHANGE)
    assert band.title == "Ihre Kontostatus-Bewertung ist gefährdet: 180"
    assert "Verkaufsberechtigung" in band.body
    case = Case.objects.get(seller=seller, kind=Case.Kind.ACCOUNT_HEALTH)
    [email] = ContactAttempt.objects.filter(case=case, channel="email")
    assert email.email_subject == "Ihre Kontostatus-Bewertung braucht Aufmerksamkeit"
    assert "liegt bei 180" in email.body
