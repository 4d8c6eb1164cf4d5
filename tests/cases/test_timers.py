"""The sweep as a seller and the desk live it, with time moved by time-machine.

Each story opens a case through ``case_open`` and runs the sweep at every step of
simulated time (every 15 minutes unless a test says otherwise), as beat would, with the
transactions' on-commit work run, so deliveries go through the console adapter and
Django's locmem email. What is checked is what people notice: calls and texts placed
(``ContactAttempt`` rows and their times in the seller's zone), emails sent, warnings,
and the case's status and escalation.
"""

import datetime as dt
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from twilio.request_validator import RequestValidator

from accounts.roles import Role
from cases.models import Case, CaseEvent, RemediationStep
from cases.services import (
    case_call_connected,
    case_open,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
)
from cases.timers import sweep_case, sweep_due_cases
from notifications.channels import ChannelError, ConsoleChannels
from notifications.models import ContactAttempt
from sellers.models import AssuranceState, Store
from tests.builders import open_case, race
from tests.factories import (
    EmergencyContactFactory,
    SellerFactory,
    SpecialistFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
QUARTER = dt.timedelta(minutes=15)
DEADLINE = dt.timedelta(hours=72)
CADENCE = (0, 4, 24, 48, 66)  # hours after opening: the first call, then the retries
QUIET_START, QUIET_END = dt.time(21), dt.time(8)

Channel = ContactAttempt.Channel
Purpose = Case.AttemptPurpose

# The store each zone's sellers belong to, and a mobile number of that country.
ZONES = {
    "America/Los_Angeles": ("US", "+14155550101"),
    "America/Toronto": ("CA", "+14165550101"),
    "Europe/Istanbul": ("TR", "+905321234567"),
}
LANDLINE = "+442079460123"  # a UK fixed line: takes calls, never texts


def local(zone: str, *args: int) -> dt.datetime:
    """A wall-clock moment in ``zone``, as an aware UTC datetime."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


# --- the world --------------------------------------------------------------------------


def store_in(zone: str) -> Store:
    store = Store.objects.get(code=ZONES[zone][0])
    store.time_zone = zone
    store.aha_enabled = True
    store.save()
    return store


def seller_in(zone: str, *, phone: str | None = None, enrolled: bool = True):
    seller = SellerFactory(store=store_in(zone))
    EmergencyContactFactory(seller=seller, phone=phone or ZONES[zone][1])
    if enrolled:
        AssuranceState.objects.create(seller=seller, enrolled=True, contact_valid=True)
    return seller


@pytest.fixture
def desk():
    """A manager and an on-duty specialist for every store the stories use."""
    manager = UserFactory(role=Role.MANAGER)
    specialist = SpecialistFactory(stores=[Store.objects.get(code=c) for c, _ in ZONES.values()])
    return manager, specialist.user


class Clock:
    """Simulated time, and the sweep beat would run at each moment the test moves to."""

    def __init__(self, traveller, capture) -> None:
        self.traveller = traveller
        self.capture = capture
        self.now: dt.datetime | None = None

    def move_to(self, moment: dt.datetime) -> None:
        self.traveller.move_to(moment)
        self.now = moment

    def sweep(self, at: dt.datetime | None = None):
        if at is not None:
            self.move_to(at)
        with self.capture(execute=True):
            return sweep_due_cases()

    def sweep_until(self, end: dt.datetime, *, every: dt.timedelta = QUARTER) -> list:
        """Sweeps at each step after now, up to and including ``end``."""
        reports = []
        while self.now + every <= end:
            reports.append(self.sweep(self.now + every))
        return reports

    def open_case(self, seller, **kwargs) -> Case:
        return open_case(seller, capture=self.capture, **kwargs)


@pytest.fixture
def clock_at(django_capture_on_commit_callbacks) -> Iterator[Callable[[dt.datetime], Clock]]:
    """``clock_at(moment)``: time frozen at ``moment``, moved only by the test."""
    travels = []

    def start(moment: dt.datetime) -> Clock:
        travel = time_machine.travel(moment, tick=False)
        clock = Clock(travel.start(), django_capture_on_commit_callbacks)
        clock.now = moment
        travels.append(travel)
        return clock

    yield start
    for travel in reversed(travels):
        travel.stop()


# --- reading what happened --------------------------------------------------------------


def attempts(case: Case, channel: str | None = None, purpose: str | None = None):
    rows = ContactAttempt.objects.filter(case=case).order_by("created_at", "id")
    if channel:
        rows = rows.filter(channel=channel)
    if purpose:
        rows = rows.filter(purpose=purpose)
    return list(rows)


def calls(case: Case) -> list[ContactAttempt]:
    return attempts(case, Channel.CALL)


def call_times(case: Case) -> list[dt.datetime]:
    return [attempt.created_at for attempt in calls(case)]


def events(case: Case, kind: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("created_at", "id"))


def escalations(case: Case) -> list[CaseEvent]:
    return [e for e in events(case, CaseEvent.Kind.TRANSITION) if e.transition == "escalate"]


def warning_times(case: Case) -> list[dt.datetime]:
    return [e.created_at for e in events(case, CaseEvent.Kind.WARNING)]


def in_quiet_hours(moment: dt.datetime, zone: str) -> bool:
    wall = moment.astimezone(ZoneInfo(zone)).time()
    return wall >= QUIET_START or wall < QUIET_END


def expected_call_times(opened_at: dt.datetime, zone: str) -> list[dt.datetime]:
    """docs/domain.md's cadence, worked out by hand: each round moved to 08:00 local if it falls
    in the quiet night, dropped if that is at or after the deadline; rounds that land on
    the same morning ring once."""
    times = []
    for hours in CADENCE:
        at = opened_at + dt.timedelta(hours=hours)
        wall = at.astimezone(ZoneInfo(zone))
        if wall.time() >= QUIET_START:
            day = wall.date() + dt.timedelta(days=1)
            at = dt.datetime.combine(day, QUIET_END, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
        elif wall.time() < QUIET_END:
            at = dt.datetime.combine(wall.date(), QUIET_END, tzinfo=ZoneInfo(zone))
            at = at.astimezone(dt.UTC)
        if at < opened_at + DEADLINE and at not in times:
            times.append(at)
    return times


def snapshot(case: Case) -> tuple:
    """Everything a sweep could add or change on a case."""
    case.refresh_from_db()
    return (
        case.status,
        case.escalated_at,
        ContactAttempt.objects.filter(case=case).count(),
        CaseEvent.objects.filter(case=case).count(),
        len(mail.outbox),
    )


@contextmanager
def on_query(matches: Callable[[str], bool], action: Callable[[], None], *, when: str):
    """Runs ``action`` once, right ``before`` or ``after`` the first query ``matches`` picks:
    another worker acting at that very moment, on the same database."""
    fired = []

    def wrapper(execute, sql, params, many, context):
        if fired or not matches(sql):
            return execute(sql, params, many, context)
        fired.append(sql)
        if when == "before":
            action()
            return execute(sql, params, many, context)
        result = execute(sql, params, many, context)
        action()
        return result

    with connection.execute_wrapper(wrapper):
        yield fired


def is_batch_read(sql: str) -> bool:
    """The sweep reading (and on PostgreSQL locking) its batch of due cases."""
    return sql.startswith("SELECT") and '"cases_case"."next_action_at" <=' in sql


def is_claim(sql: str) -> bool:
    """The sweep's claim: the conditional update of a case on the timer it read."""
    return (
        sql.startswith('UPDATE "cases_case"')
        and '"call_rounds" =' in sql
        and ('"next_action_at" =' in sql.split("WHERE", 1)[-1])
    )


# --- a case nobody answers ----------------------------------------------------------------

UNANSWERED = [
    # Opened on a Friday morning: the cadence crosses the switch to PDT on Sunday 8 March.
    pytest.param("America/Los_Angeles", (2026, 3, 6, 10, 0), id="LA-day-across-DST"),
    # Opened in the quiet night before the switch: the first call waits for 08:00 PST.
    pytest.param("America/Los_Angeles", (2026, 3, 6, 22, 30), id="LA-night-across-DST"),
    # Opened at 00:45 on the night the clocks go back in Toronto (1 November 2026): a night
    # an hour longer, still ending at 08:00.
    pytest.param("America/Toronto", (2026, 11, 1, 0, 45), id="Toronto-night-of-DST-end"),
    pytest.param("America/Toronto", (2026, 3, 7, 7, 45), id="Toronto-just-before-morning"),
    pytest.param("Europe/Istanbul", (2026, 6, 15, 20, 45), id="Istanbul-just-before-quiet"),
    pytest.param("Europe/Istanbul", (2026, 6, 15, 3, 0), id="Istanbul-night"),
]


@pytest.mark.parametrize(("zone", "opened"), UNANSWERED)
def test_an_unanswered_case_is_called_on_the_cadence_warned_and_escalated_once(
    clock_at, desk, zone, opened
):
    manager, specialist = desk
    opened_at = local(zone, *opened)
    clock = clock_at(opened_at)
    seller = seller_in(zone)
    case = clock.open_case(seller)
    assert case.assured
    assert case.reach_deadline == opened_at + DEADLINE

    clock.sweep_until(opened_at + DEADLINE + 2 * HOUR)
    case.refresh_from_db()

    # Calls: on the cadence, moved out of the seller's night, all before the deadline.
    expected = expected_call_times(opened_at, zone)
    assert call_times(case) == expected
    first_call = call_times(case)[0]
    if in_quiet_hours(opened_at, zone):
        assert first_call.astimezone(ZoneInfo(zone)).time() == QUIET_END
        assert first_call - opened_at < 12 * HOUR
    else:
        assert first_call == opened_at
    for call in calls(case):
        assert not in_quiet_hours(call.created_at, zone), call.created_at.astimezone(ZoneInfo(zone))
        assert call.created_at < case.reach_deadline
        assert call.destination == str(seller.emergency_contact.phone)
        assert call.status == ContactAttempt.Status.QUEUED  # handed to the channel
    assert case.first_attempt_at == expected[0]

    # One text, with the first call; one email to the seller, at the opening.
    texts = attempts(case, Channel.SMS)
    assert [(t.created_at, t.destination) for t in texts] == [
        (expected[0], str(seller.emergency_contact.phone))
    ]
    outreach_emails = attempts(case, Channel.EMAIL, Purpose.OUTREACH)
    assert [(e.created_at, e.destination) for e in outreach_emails] == [(opened_at, seller.email)]

    # Warnings at 24 h and 6 h left, once each, to the specialist and the managers.
    warned_at = [case.reach_deadline - 24 * HOUR, case.reach_deadline - 6 * HOUR]
    assert warning_times(case) == warned_at
    warnings = attempts(case, Channel.EMAIL, Purpose.DEADLINE_WARNING)
    assert sorted((w.created_at, w.destination) for w in warnings) == sorted(
        (at, person.email) for at in warned_at for person in (manager, specialist)
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [seller.email] + [manager.email, specialist.email] * 2
    )

    # Escalated as unreachable at the deadline, exactly once.
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_reason == Case.EscalationReason.UNREACHABLE
    assert case.escalated_at == case.reach_deadline
    assert case.contacted_at is None
    [escalation] = escalations(case)
    assert (escalation.from_status, escalation.actor_process) == ("opened", "deadline sweep")

    # Sweeping on and on changes nothing.
    before = snapshot(case)
    reports = clock.sweep_until(clock.now + 5 * 24 * HOUR, every=HOUR)
    assert snapshot(case) == before
    assert all(report.cases == 0 for report in reports)


def test_a_number_that_takes_no_texts_gets_calls_only(clock_at, desk):
    zone = "America/Los_Angeles"
    opened_at = local(zone, 2026, 5, 4, 9, 0)
    clock = clock_at(opened_at)
    case = clock.open_case(seller_in(zone, phone=LANDLINE))

    clock.sweep_until(opened_at + 5 * HOUR)

    assert call_times(case) == [opened_at, opened_at + 4 * HOUR]
    assert attempts(case, Channel.SMS) == []


# --- reached, late, or twice --------------------------------------------------------------

# Monday 4 May 2026, 09:00 in Los Angeles: calls at +0, +4, +24, +48 h and, as +66 h falls
# at 03:00, at 08:00 on Thursday (+71 h); warnings at +48 h and +66 h.
LA = "America/Los_Angeles"
MONDAY_9AM = local(LA, 2026, 5, 4, 9, 0)
LA_CALLS = [0, 4, 24, 48, 71]


def hours(*offsets: float, start: dt.datetime = MONDAY_9AM) -> list[dt.datetime]:
    return [start + dt.timedelta(hours=h) for h in offsets]


def answer_and_connect(client, settings, attempt: ContactAttempt) -> None:
    """The seller answers, presses 1 and the specialist picks up: Twilio's signed requests."""
    settings.TWILIO_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
    settings.PUBLIC_BASE_URL = "https://desk.example.test"
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    for name, params in [
        ("call-twiml", {"CallSid": "CA1", "AnsweredBy": "human"}),
        ("call-gather", {"CallSid": "CA1", "Digits": "1"}),
        ("call-connected", {"CallSid": "CA1"}),
    ]:
        path = reverse(f"outreach:{name}", args=[attempt.pk])
        signature = validator.compute_signature(settings.PUBLIC_BASE_URL + path, params)
        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200, (name, response.content)


def test_a_case_answered_at_hour_50_is_contacted_in_time_and_left_alone(
    clock_at, desk, client, settings
):
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    clock.sweep_until(MONDAY_9AM + 50 * HOUR)

    answered = calls(case)[-1]
    answer_and_connect(client, settings, answered)
    clock.sweep_until(MONDAY_9AM + 100 * HOUR)

    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED
    assert case.sla_met is True
    assert case.contacted_at == MONDAY_9AM + 50 * HOUR
    assert case.next_action_at is None
    assert call_times(case) == hours(0, 4, 24, 48)
    assert warning_times(case) == hours(48)  # the 6-hours-left warning never comes
    assert escalations(case) == []
    assert [e.transition for e in events(case, CaseEvent.Kind.TRANSITION)] == ["contact"]
    answered.refresh_from_db()
    assert answered.outcome == ContactAttempt.Outcome.CONNECTED


@pytest.mark.parametrize(
    ("back_at", "warned_hours_left", "later_warnings"),
    [
        # Down through the +4, +24 and +48 h calls and the 24-hours-left warning.
        pytest.param(50, 24, [66], id="back-at-hour-50"),
        # Down through every retry but the last and through both warnings.
        pytest.param(67, 6, [], id="back-at-hour-67"),
    ],
)
def test_a_sweep_down_for_a_day_makes_one_call_and_only_the_latest_warning(
    clock_at, desk, back_at, warned_hours_left, later_warnings
):
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    report = clock.sweep(MONDAY_9AM + back_at * HOUR)

    assert (report.cases, report.calls, report.texts, report.warnings) == (1, 1, 0, 1)
    assert call_times(case) == hours(0, back_at)
    [warning] = events(case, CaseEvent.Kind.WARNING)
    assert warning.created_at == MONDAY_9AM + back_at * HOUR
    assert warning.reason.startswith(f"{warned_hours_left} hours left")

    clock.sweep_until(MONDAY_9AM + 80 * HOUR)
    case.refresh_from_db()
    assert call_times(case) == hours(0, back_at, 71)
    assert warning_times(case) == hours(back_at, *later_warnings)
    assert case.escalated_at == case.reach_deadline
    assert len(escalations(case)) == 1


def test_a_sweep_down_past_the_deadline_escalates_once_without_calling(clock_at, desk):
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    report = clock.sweep(MONDAY_9AM + 80 * HOUR)
    clock.sweep_until(MONDAY_9AM + 100 * HOUR)

    assert (report.escalated, report.calls, report.warnings) == (1, 0, 0)
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_reason == Case.EscalationReason.UNREACHABLE
    assert case.escalated_at == MONDAY_9AM + 80 * HOUR
    assert len(escalations(case)) == 1
    assert call_times(case) == hours(0)
    assert warning_times(case) == []


def test_the_same_moment_swept_twice_acts_once(clock_at, desk, django_capture_on_commit_callbacks):
    clock = clock_at(MONDAY_9AM)
    # Opened, but its own sweep after commit never ran (a lost task): beat finds it.
    with django_capture_on_commit_callbacks(execute=False):
        case, _ = case_open(
            seller=seller_in(LA), policy_area="counterfeit", severity="high", summary="Fakes"
        )

    first = clock.sweep(MONDAY_9AM)
    second = clock.sweep(MONDAY_9AM)
    with django_capture_on_commit_callbacks(execute=True):
        third = sweep_case(case.pk)

    assert (first.cases, first.calls, first.texts, first.emails) == (1, 1, 1, 1)
    assert (second.cases, third.cases) == (0, 0)
    assert [(a.channel, a.purpose) for a in attempts(case)] == [
        (Channel.EMAIL, Purpose.OUTREACH),
        (Channel.CALL, Purpose.OUTREACH),
        (Channel.SMS, Purpose.OUTREACH),
    ]
    assert [m.to for m in mail.outbox] == [[case.seller.email]]


def test_a_sweep_that_lost_the_race_to_another_does_nothing(
    clock_at, desk, django_capture_on_commit_callbacks
):
    """Two sweeps read the same due case; the other one claims it first."""
    clock = clock_at(MONDAY_9AM)
    with django_capture_on_commit_callbacks(execute=False):
        case, _ = case_open(
            seller=seller_in(LA), policy_area="counterfeit", severity="high", summary="Fakes"
        )
    other = []

    with on_query(is_claim, lambda: other.append(sweep_due_cases()), when="before") as fired:
        mine = clock.sweep(MONDAY_9AM)

    assert fired, "the sweep never claimed the case"
    assert (other[0].cases, other[0].calls) == (1, 1)
    assert (mine.cases, mine.calls, mine.skipped) == (0, 0, 1)
    assert len(calls(case)) == 1
    assert len(attempts(case, Channel.EMAIL)) == 1
    assert len(attempts(case, Channel.SMS)) == 1


# --- contact at the last moment -----------------------------------------------------------


def test_a_case_contacted_just_before_the_deadline_is_not_escalated(clock_at, desk):
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    clock.sweep_until(MONDAY_9AM + DEADLINE - MINUTE, every=MINUTE * 59)

    case_call_connected(attempt_id=calls(case)[-1].pk)
    clock.sweep_until(MONDAY_9AM + 80 * HOUR)

    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED
    assert case.sla_met is True
    assert escalations(case) == []


def test_a_contact_while_the_sweep_decides_to_escalate_wins(clock_at, desk):
    """The sweep has read the case to escalate it when the seller's call connects."""
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    clock.sweep_until(MONDAY_9AM + DEADLINE - QUARTER)
    answered = calls(case)[-1]

    with on_query(
        is_batch_read, lambda: case_call_connected(attempt_id=answered.pk), when="after"
    ) as fired:
        report = clock.sweep(MONDAY_9AM + DEADLINE)

    assert fired, "the sweep never read the case"
    assert (report.escalated, report.skipped) == (0, 1)
    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED
    assert case.escalation_reason == ""
    assert escalations(case) == []
    clock.sweep_until(MONDAY_9AM + 80 * HOUR)
    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED


# --- remediation inactivity ---------------------------------------------------------------

DAY = dt.timedelta(days=1)


def in_remediation(clock: Clock, specialist) -> tuple[Case, list[RemediationStep]]:
    """A case contacted and put into remediation at the clock's hour, with a step for each."""
    case = clock.open_case(seller_in(LA))
    case_transition(case_id=case.pk, name="contact", by=specialist, reason="Seller called back")
    steps = [
        remediation_step_add(
            case_id=case.pk, by=specialist, text=text, owner=owner, due_on=dt.date(2026, 7, 1)
        )
        for text, owner in [("Ship on time", "seller"), ("Review the metrics", "specialist")]
    ]
    case_transition(case_id=case.pk, name="start_remediation", by=specialist)
    case.refresh_from_db()
    return case, steps


def inactivity_emails(case: Case) -> list[ContactAttempt]:
    return attempts(case, Channel.EMAIL, Purpose.INACTIVITY_WARNING)


def test_an_inactive_seller_is_warned_after_14_days_and_escalated_7_days_later(clock_at, desk):
    _, specialist = desk
    clock = clock_at(MONDAY_9AM)
    case, _ = in_remediation(clock, specialist)
    outreach = len(attempts(case))

    clock.sweep_until(MONDAY_9AM + 14 * DAY - 3 * HOUR, every=3 * HOUR)
    assert inactivity_emails(case) == []
    clock.sweep_until(MONDAY_9AM + 21 * DAY - 3 * HOUR, every=3 * HOUR)
    [email] = inactivity_emails(case)
    assert (email.created_at, email.destination) == (MONDAY_9AM + 14 * DAY, case.seller.email)
    assert warning_times(case) == [MONDAY_9AM + 14 * DAY]
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REMEDIATION

    clock.sweep_until(MONDAY_9AM + 30 * DAY, every=3 * HOUR)
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_reason == Case.EscalationReason.NON_COOPERATION
    assert case.escalated_at == MONDAY_9AM + 21 * DAY
    [escalation] = escalations(case)
    assert escalation.from_status == "in_remediation"
    assert len(inactivity_emails(case)) == 1
    # Nobody is called about a case in remediation.
    assert len(attempts(case)) == outreach + 1
    assert f"We have not heard from you: case {case.pk}" in [
        m.subject for m in mail.outbox if m.to == [case.seller.email]
    ]


@pytest.mark.parametrize(
    ("owner", "warned_on", "escalated_on"),
    [
        # The seller did their step on day 16: a fresh 14 days, then 7 more.
        pytest.param("seller", [14, 30], 37, id="seller-step"),
        # The specialist's own work is not the seller's activity.
        pytest.param("specialist", [14], 21, id="specialist-step"),
    ],
)
def test_seller_activity_after_the_warning_starts_the_count_again(
    clock_at, desk, owner, warned_on, escalated_on
):
    _, specialist = desk
    clock = clock_at(MONDAY_9AM)
    case, steps = in_remediation(clock, specialist)
    step = next(s for s in steps if s.owner == owner)
    clock.sweep_until(MONDAY_9AM + 16 * DAY, every=3 * HOUR)

    remediation_step_complete(step_id=step.pk, by=specialist)
    clock.sweep_until(MONDAY_9AM + 40 * DAY, every=3 * HOUR)

    case.refresh_from_db()
    assert warning_times(case) == [MONDAY_9AM + n * DAY for n in warned_on]
    assert [e.created_at for e in inactivity_emails(case)] == warning_times(case)
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_reason == Case.EscalationReason.NON_COOPERATION
    assert case.escalated_at == MONDAY_9AM + escalated_on * DAY
    assert len(escalations(case)) == 1


# --- deliveries that fail -----------------------------------------------------------------


class FlakyChannels(ConsoleChannels):
    """The console adapter on a provider's bad day: the next ``failures`` calls fail."""

    def __init__(self, failures: int, *, transient: bool) -> None:
        self.failures = failures
        self.transient = transient

    def call(self, *, to: str, twiml_url: str, status_callback: str) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise ChannelError(
                "Twilio refused the call: HTTP 503, code 20503: Service unavailable",
                transient=self.transient,
            )
        return super().call(to=to, twiml_url=twiml_url, status_callback=status_callback)


@pytest.fixture
def flaky_calls(monkeypatch) -> Callable[..., FlakyChannels]:
    def install(failures: int, *, transient: bool = True) -> FlakyChannels:
        adapter = FlakyChannels(failures, transient=transient)
        monkeypatch.setattr("notifications.services.channels", lambda: adapter)
        return adapter

    return install


def tries_at(attempt: ContactAttempt) -> list[dt.datetime]:
    """When each failed try happened, from the attempt's history."""
    attempt.refresh_from_db()
    return [dt.datetime.fromisoformat(e["at"]) for e in attempt.history if e["status"] == "error"]


def test_a_call_failing_for_a_passing_reason_is_retried_after_1_2_4_minutes_then_failed(
    clock_at, desk, flaky_calls
):
    flaky_calls(100)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    [call] = calls(case)
    assert tries_at(call) == [MONDAY_9AM + m * MINUTE for m in (0, 1, 3, 7)]
    assert (call.status, call.outcome, call.tries) == ("failed", "failed", 4)
    assert "HTTP 503" in call.error
    # The text of the same round went out.
    [text] = attempts(case, Channel.SMS)
    assert text.status == ContactAttempt.Status.QUEUED


def test_a_call_that_fails_twice_goes_out_on_the_third_try(clock_at, desk, flaky_calls):
    flaky_calls(2)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    [call] = calls(case)
    assert tries_at(call) == [MONDAY_9AM, MONDAY_9AM + MINUTE]
    assert (call.status, call.tries, call.sent_at) == ("queued", 3, MONDAY_9AM + 3 * MINUTE)
    assert call.provider_id.startswith("CONSOLE")


def test_a_call_the_provider_refuses_for_good_fails_at_once(clock_at, desk, flaky_calls):
    flaky_calls(100, transient=False)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    [call] = calls(case)
    assert (call.status, call.tries) == ("failed", 1)

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    call.refresh_from_db()
    assert (call.status, call.outcome, call.tries) == ("failed", "failed", 1)
    assert "HTTP 503" in call.error


@pytest.mark.parametrize("transient", [True, False])
def test_the_deadline_escalation_comes_on_time_while_every_call_fails(
    clock_at, desk, flaky_calls, transient
):
    flaky_calls(10_000, transient=transient)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 74 * HOUR)

    case.refresh_from_db()
    assert call_times(case) == hours(*LA_CALLS)
    assert {call.status for call in calls(case)} == {"failed"}
    assert case.status == Case.Status.ESCALATED
    assert case.escalated_at == case.reach_deadline
    assert len(escalations(case)) == 1


class FlakySMTPBackend(LocmemBackend):
    """Django's locmem backend behind an SMTP server that raises ``errors``, one a send."""

    errors: list[Exception] = []

    def send_messages(self, messages):
        if FlakySMTPBackend.errors:
            raise FlakySMTPBackend.errors.pop(0)
        return super().send_messages(messages)


@pytest.fixture
def smtp_errors(settings) -> Iterator[list[Exception]]:
    settings.EMAIL_BACKEND = f"{__name__}.FlakySMTPBackend"
    FlakySMTPBackend.errors = []
    yield FlakySMTPBackend.errors
    FlakySMTPBackend.errors = []


def opening_email(case: Case) -> ContactAttempt:
    [email] = attempts(case, Channel.EMAIL, Purpose.OUTREACH)
    return email


def test_an_email_the_server_drops_is_retried_then_failed(clock_at, desk, smtp_errors):
    smtp_errors.extend(
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed") for _ in range(10)
    )
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    email = opening_email(case)
    assert tries_at(email) == [MONDAY_9AM + m * MINUTE for m in (0, 1, 3, 7)]
    assert (email.status, email.tries) == ("failed", 4)
    assert "Connection unexpectedly closed" in email.error
    assert [m for m in mail.outbox if m.to == [case.seller.email]] == []


@pytest.mark.parametrize(
    ("errors", "sent_after", "tries"),
    [
        pytest.param(
            [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")] * 2,
            3,
            3,
            id="disconnected-twice",
        ),
        pytest.param([smtplib.SMTPDataError(451, b"4.3.0 Try again later")], 1, 2, id="smtp-451"),
        pytest.param(
            [smtplib.SMTPRecipientsRefused({"x@example.test": (450, b"4.2.1 Mailbox busy")})],
            1,
            2,
            id="recipient-refused-450",
        ),
    ],
)
def test_an_email_sent_after_passing_smtp_errors_reaches_the_seller(
    clock_at, desk, smtp_errors, errors, sent_after, tries
):
    smtp_errors.extend(errors)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    email = opening_email(case)
    assert (email.status, email.tries) == ("sent", tries)
    assert email.sent_at == MONDAY_9AM + sent_after * MINUTE
    assert [m.to for m in mail.outbox if m.to == [case.seller.email]] == [[case.seller.email]]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(smtplib.SMTPDataError(550, b"5.7.1 Message rejected"), id="data-550"),
        # What Django's SMTP backend raises when the server refuses the only recipient.
        pytest.param(
            smtplib.SMTPRecipientsRefused({"x@example.test": (550, b"5.1.1 User unknown")}),
            id="recipient-refused-550",
        ),
    ],
)
def test_an_email_the_server_refuses_for_good_fails_at_once(clock_at, desk, smtp_errors, error):
    smtp_errors.append(error)
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))

    clock.sweep_until(MONDAY_9AM + 15 * MINUTE, every=MINUTE / 2)

    email = opening_email(case)
    assert (email.status, email.tries) == ("failed", 1)
    assert "SMTP 550" in email.error
    assert [m for m in mail.outbox if m.to == [case.seller.email]] == []


# --- the command and cases without assurance ----------------------------------------------


def open_unswept(django_capture_on_commit_callbacks, seller) -> Case:
    """A case whose own sweep after commit never ran: it waits for beat."""
    with django_capture_on_commit_callbacks(execute=False):
        case, _ = case_open(
            seller=seller, policy_area="counterfeit", severity="high", summary="Fakes"
        )
    return case


def test_the_command_sweeps_and_prints_its_report(
    clock_at, desk, django_capture_on_commit_callbacks
):
    clock_at(MONDAY_9AM)
    case = open_unswept(django_capture_on_commit_callbacks, seller_in(LA))
    out = StringIO()

    call_command("sweep_due_cases", stdout=out)

    report = out.getvalue()
    for shown in ("cases: 1", "calls: 1", "texts: 1", "emails: 1", "escalated: 0"):
        assert shown in report
    assert call_times(case) == [MONDAY_9AM]


def test_the_command_acts_as_of_the_moment_given(
    clock_at, desk, django_capture_on_commit_callbacks
):
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    out = StringIO()

    call_command("sweep_due_cases", "--now", "2026-05-04T20:00:00+00:00", stdout=out)

    assert "calls: 1" in out.getvalue()
    assert call_times(case) == hours(0, 4)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--now", "2026-05-04T13:00"], "give a time zone"),
        (["--now", "tomorrow morning"], "is not an ISO 8601 time"),
        (["--batch-size", "0"], "at least 1"),
    ],
)
def test_the_command_refuses_a_bad_moment_and_does_nothing(
    clock_at, desk, django_capture_on_commit_callbacks, arguments, message
):
    clock_at(MONDAY_9AM)
    case = open_unswept(django_capture_on_commit_callbacks, seller_in(LA))

    with pytest.raises(CommandError, match=message):
        call_command("sweep_due_cases", *arguments, stdout=StringIO())

    assert attempts(case) == []


def test_a_case_without_assurance_gets_the_opening_email_only(clock_at, desk):
    clock = clock_at(MONDAY_9AM)
    seller = seller_in(LA, enrolled=False)
    case = clock.open_case(seller)

    clock.sweep_until(MONDAY_9AM + 5 * 24 * HOUR, every=HOUR)

    case.refresh_from_db()
    assert (case.assured, case.reach_deadline) == (False, None)
    assert [(a.channel, a.purpose, a.destination) for a in attempts(case)] == [
        (Channel.EMAIL, Purpose.OUTREACH, seller.email)
    ]
    assert case.status == Case.Status.OPENED
    assert escalations(case) == []
    assert events(case, CaseEvent.Kind.WARNING) == []
    assert case.next_action_at is None


# --- sweeps in parallel (PostgreSQL) ------------------------------------------------------

PARALLEL_CASES = 40
THREADS = 8


def run_together(jobs: list[Callable[[], object]]) -> list[object]:
    """Runs the sweeps together (``tests.builders.race``); none may fail."""
    answers = race(jobs, timeout=120)
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, errors
    return answers


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel sweeps need PostgreSQL: row locks and concurrent connections; "
    "run with DATABASE_URL=postgres://...",
)
@pytest.mark.django_db(transaction=True)
def test_parallel_sweeps_act_on_each_case_exactly_once(desk):
    _, specialist = desk
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        cases = []
        for _ in range(PARALLEL_CASES):
            seller = seller_in(LA)
            # Opened with the opening sweep still to run, as if its task were lost.
            cases.append(
                Case.objects.create(
                    seller=seller,
                    policy_area="counterfeit",
                    severity="critical",
                    summary="Race",
                    assured=True,
                    opened_at=MONDAY_9AM,
                    reach_deadline=MONDAY_9AM + DEADLINE,
                    next_action_at=MONDAY_9AM,
                    assigned_to=specialist,
                )
            )
        ids = [case.pk for case in cases]

        def beat() -> object:
            return sweep_due_cases(batch_size=3)

        def one_by_one() -> object:
            # The per-case sweep queued at opening, arriving while beat runs.
            return [sweep_case(case_id) for case_id in reversed(ids)]

        answers = run_together([beat, one_by_one] * (THREADS // 2))

        reports = [r for a in answers for r in (a if isinstance(a, list) else [a])]
        assert sum(report.cases for report in reports) == PARALLEL_CASES
        assert sum(report.calls for report in reports) == PARALLEL_CASES

        for case in cases:
            kinds = sorted((a.channel, a.purpose) for a in attempts(case))
            assert kinds == [
                (Channel.CALL, Purpose.OUTREACH),
                (Channel.EMAIL, Purpose.OUTREACH),
                (Channel.SMS, Purpose.OUTREACH),
            ], case.pk
        assert len([m for m in mail.outbox if "Action needed" in m.subject]) == PARALLEL_CASES

        traveller.move_to(MONDAY_9AM + DEADLINE)
        reports = run_together([beat] * THREADS)

        assert sum(report.escalated for report in reports) == PARALLEL_CASES
        assert sum(report.errors for report in reports) == 0
        for case in cases:
            case.refresh_from_db()
            assert case.status == Case.Status.ESCALATED, case.pk
            assert len(escalations(case)) == 1, case.pk
            assert len(attempts(case)) == 3, case.pk


# --- who gets the deadline warnings --------------------------------------------------------


def test_deadline_warnings_go_to_the_assignee_and_whoever_holds_the_permission(clock_at, desk):
    manager, specialist = desk
    # Given the permission on her own, without the managers' role: she is warned too.
    lead = UserFactory(username="lead", email="lead@desk.test")
    lead.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="cases", codename="receive_deadline_warnings"
        )
    )
    # A specialist who is not the assignee, and an inactive manager, are not.
    colleague = SpecialistFactory(stores=[Store.objects.get(code="US")]).user
    UserFactory(role=Role.MANAGER, is_active=False, email="gone@desk.test")
    clock = clock_at(MONDAY_9AM)
    case = clock.open_case(seller_in(LA))
    assert case.assigned_to in {specialist, colleague}

    clock.sweep_until(MONDAY_9AM + DEADLINE - 24 * HOUR)

    warned = sorted(
        a.destination
        for a in attempts(case, Channel.EMAIL)
        if a.purpose == Purpose.DEADLINE_WARNING
    )
    assert warned == sorted([case.assigned_to.email, manager.email, lead.email])
