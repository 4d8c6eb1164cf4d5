"""The timer rules at their edges: the instant itself, 1 µs before, 1 µs after (issue #16).

Four behaviours, each through the pure rules (``cases.outreach``) and through the sweep
with time-machine (or the services that set the timer), in zones with and without DST:

1. The first instant of quiet hours (21:00:00 local, or the start of any window) is inside
   them; a call due then waits for the end of this night, never a morning already past.
2. After an inactivity warning the grace is kept whole: a sweep waking early does not
   escalate for non-cooperation; at the grace end it does, once.
3. ``next_action_at`` after an action or a transition is the next edge: not now when
   nothing is due, not later when something is.
4. A warning stamped at the same instant as the seller's last activity starts the grace;
   it does not call for a second warning.

Then properties over moments drawn from the rules' edges (``tests.strategies``).
"""

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cases.models import Case
from cases.outreach import (
    IN_REMEDIATION,
    Due,
    OutreachRules,
    TimerState,
    call_times,
    in_quiet_hours,
    next_action_for,
    outside_quiet_hours,
    plan,
)
from cases.services import (
    case_call_connected,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
)
from tests.cases import test_timers as timers
from tests.strategies import (
    DEFAULT_RULES,
    assured_state,
    cases_and_moments,
    edges_of,
    near,
    outreach_states,
    quiet_edges,
    remediation_cases,
    rules,
)

# The sweep's fixtures: time frozen by time-machine, the desk's manager and specialist.
clock_at = timers.clock_at
desk = timers.desk

US = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
WARN = 14 * DAY  # settings.AHA["INACTIVITY_WARN_DAYS"]
GRACE = 7 * DAY  # settings.AHA["INACTIVITY_GRACE_DAYS"]
LA, TORONTO, ISTANBUL = "America/Los_Angeles", "America/Toronto", "Europe/Istanbul"


def local(zone: str, *args: int) -> dt.datetime:
    """A wall-clock moment in ``zone`` (microseconds allowed), as an aware UTC datetime."""
    return timers.local(zone, *args)


def wall(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


# Evenings whose night the tests cross: the night Los Angeles springs forward (8 March
# 2026, an hour shorter), the night Toronto falls back (1 November 2026, an hour longer),
# and a summer night in Istanbul (UTC+3 all year). (zone, the evening's date, the next
# morning at 08:00 local as UTC, the night's length).
NIGHTS = [
    pytest.param(LA, dt.date(2026, 3, 7), "2026-03-08T15:00+00:00", 10, id="LA-spring-forward"),
    pytest.param(
        TORONTO, dt.date(2026, 10, 31), "2026-11-01T13:00+00:00", 12, id="Toronto-fall-back"
    ),
    pytest.param(ISTANBUL, dt.date(2026, 6, 15), "2026-06-16T05:00+00:00", 11, id="Istanbul"),
]


def at_wall(zone: str, day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


# --- 1. the start of quiet hours --------------------------------------------------------


@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_the_first_instant_of_quiet_hours_is_inside_them(zone, evening, morning, night_hours):
    nine_pm = at_wall(zone, evening, dt.time(21))
    eight_am = dt.datetime.fromisoformat(morning)
    assert eight_am - nine_pm == night_hours * HOUR

    assert not in_quiet_hours(nine_pm - US, zone, DEFAULT_RULES)
    assert in_quiet_hours(nine_pm, zone, DEFAULT_RULES)
    assert in_quiet_hours(nine_pm + US, zone, DEFAULT_RULES)
    # ...and the end of the night is outside them.
    assert in_quiet_hours(eight_am - US, zone, DEFAULT_RULES)
    assert not in_quiet_hours(eight_am, zone, DEFAULT_RULES)


@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_a_call_due_at_the_start_of_quiet_hours_waits_for_the_next_morning(
    zone, evening, morning, night_hours
):
    nine_pm = at_wall(zone, evening, dt.time(21))
    eight_am = dt.datetime.fromisoformat(morning)

    assert outside_quiet_hours(nine_pm - US, zone, DEFAULT_RULES) == nine_pm - US
    assert outside_quiet_hours(nine_pm, zone, DEFAULT_RULES) == eight_am
    assert outside_quiet_hours(nine_pm + US, zone, DEFAULT_RULES) == eight_am
    # The morning before this evening is long past: never that one.
    assert outside_quiet_hours(nine_pm, zone, DEFAULT_RULES) > nine_pm
    assert outside_quiet_hours(eight_am - US, zone, DEFAULT_RULES) == eight_am
    assert outside_quiet_hours(eight_am, zone, DEFAULT_RULES) == eight_am


# Windows of every shape, each starting on the evening (or day) of 7 March 2026 in Los
# Angeles, the night before the switch to PDT: (start, end, when the window ends, local).
WINDOWS = [
    pytest.param(dt.time(21), dt.time(8), (2026, 3, 8, 8, 0), id="overnight"),
    pytest.param(dt.time(12), dt.time(14), (2026, 3, 7, 14, 0), id="within-the-day"),
    pytest.param(dt.time(0), dt.time(6), (2026, 3, 7, 6, 0), id="from-midnight"),
    pytest.param(dt.time(23, 45), dt.time(0), (2026, 3, 8, 0, 0), id="until-midnight"),
    # Across the switch: 01:30 PST to 03:30 PDT is one hour.
    pytest.param(dt.time(1, 30), dt.time(3, 30), (2026, 3, 8, 3, 30), id="across-the-jump"),
]


@pytest.mark.parametrize(("start", "end", "ends_at"), WINDOWS)
def test_the_start_of_any_window_is_inside_it_and_waits_for_its_end(start, end, ends_at):
    rules = replace(DEFAULT_RULES, quiet_hours=(start, end))
    day = dt.date(2026, 3, 8) if start == dt.time(1, 30) else dt.date(2026, 3, 7)
    starts = at_wall(LA, day, start)
    ends = local(LA, *ends_at)

    assert not in_quiet_hours(starts - US, LA, rules)
    assert in_quiet_hours(starts, LA, rules)
    assert outside_quiet_hours(starts - US, LA, rules) == starts - US
    assert outside_quiet_hours(starts, LA, rules) == ends
    assert outside_quiet_hours(starts + US, LA, rules) == ends
    assert outside_quiet_hours(ends - US, LA, rules) == ends
    assert not in_quiet_hours(ends, LA, rules)


@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_a_retry_due_at_21_rings_the_next_morning_in_plan(zone, evening, morning, night_hours):
    """Opened at 17:00 local: the +4 h retry falls at 21:00:00, the first quiet instant."""
    five_pm = at_wall(zone, evening, dt.time(17))
    eight_am = dt.datetime.fromisoformat(morning)
    state = assured_state(five_pm, zone)

    assert call_times(state, DEFAULT_RULES)[:2] == [five_pm, eight_am]
    opened = plan(state, five_pm, DEFAULT_RULES)
    assert (opened.call, opened.call_rounds, opened.next_at) == (True, 1, eight_am)
    state = replace(state, outreach_started=True, call_rounds=1)
    for now in (five_pm + 4 * HOUR - US, five_pm + 4 * HOUR, five_pm + 4 * HOUR + US):
        assert plan(state, now, DEFAULT_RULES) == Due(call_rounds=1, next_at=eight_am)
    assert not plan(state, eight_am - US, DEFAULT_RULES).call
    assert plan(state, eight_am, DEFAULT_RULES).call

    # Opened 1 µs earlier, the retry rings at 20:59:59.999999; 1 µs later, the next morning.
    earlier = assured_state(five_pm - US, zone)
    assert call_times(earlier, DEFAULT_RULES)[1] == five_pm + 4 * HOUR - US
    later = assured_state(five_pm + US, zone)
    assert call_times(later, DEFAULT_RULES)[1] == eight_am


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("opened_by", "retry_at"),
    [
        pytest.param(dt.timedelta(0), "morning", id="retry-at-21:00:00"),
        pytest.param(-US, "20:59:59.999999", id="retry-1us-before-21"),
        pytest.param(US, "morning", id="retry-1us-after-21"),
    ],
)
@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_the_sweep_rings_a_retry_due_at_21_the_next_morning(
    clock_at, desk, zone, evening, morning, night_hours, opened_by, retry_at
):
    opened_at = at_wall(zone, evening, dt.time(17)) + opened_by
    nine_pm = at_wall(zone, evening, dt.time(21))
    eight_am = dt.datetime.fromisoformat(morning)
    clock = clock_at(opened_at)
    case = clock.open_case(timers.seller_in(zone))

    for moment in [
        nine_pm - US,
        nine_pm,
        nine_pm + US,
        nine_pm + HOUR,
        eight_am - US,
        eight_am,
        eight_am + US,
    ]:
        clock.sweep(moment)

    expected = [opened_at, eight_am if retry_at == "morning" else nine_pm - US]
    assert timers.call_times(case) == expected
    for call in timers.calls(case):
        assert not timers.in_quiet_hours(call.created_at, zone)
    case.refresh_from_db()
    # The next round is the +24 h retry, at 17:00 (16:59:59.999999...) the next day.
    assert case.next_action_at == opened_at + 24 * HOUR


@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_the_deadline_escalates_at_its_instant_and_no_call_rings_at_it(
    zone, evening, morning, night_hours
):
    """Opened at noon local, the night of ``evening`` inside the 72 hours."""
    opened_at = at_wall(zone, evening, dt.time(12)) - 24 * HOUR
    state = assured_state(opened_at, zone)
    deadline = state.reach_deadline
    done = replace(
        state,
        outreach_started=True,
        call_rounds=len(call_times(state, DEFAULT_RULES)),
        deadline_warnings=2,
    )
    kept = {"call_rounds": done.call_rounds, "deadline_warnings": 2}

    assert plan(done, deadline - US, DEFAULT_RULES) == Due(next_at=deadline, **kept)
    for now in (deadline, deadline + US):
        assert plan(done, now, DEFAULT_RULES) == Due(escalate="unreachable", **kept)
    # A retry due at the deadline itself is no call (the case escalates then); 1 µs
    # before the deadline, it rings.
    at_deadline = replace(DEFAULT_RULES, retry_after_hours=(4, 24, 48, 72))
    assert not in_quiet_hours(deadline, zone, at_deadline)
    assert deadline not in call_times(state, at_deadline)
    later = replace(state, reach_deadline=deadline + US)
    assert call_times(later, at_deadline)[-1] == deadline


# --- 2. the grace after an inactivity warning ---------------------------------------------


def remediation_state(zone: str, base: dt.datetime, warned: dt.datetime | None) -> TimerState:
    """A case in remediation, its seller last active at ``base``."""
    return assured_state(
        base - 3 * DAY,
        zone,
        status=IN_REMEDIATION,
        outreach_started=True,
        call_rounds=ROUNDS,
        deadline_warnings=WARNINGS,
        remediation_started_at=base - DAY,
        last_seller_activity_at=base,
        inactivity_warned_at=warned,
    )


# What the outreach left on the case: the sweep stores these again with every answer.
ROUNDS, WARNINGS = 3, 1
KEEP = {"call_rounds": ROUNDS, "deadline_warnings": WARNINGS}


# Warnings stamped at 21:00 local the evening before a DST change (the grace of 7 days is
# 168 hours whatever the clocks do), and in Istanbul.
WARNED = [
    pytest.param(LA, (2026, 3, 7, 21, 0), id="LA-before-spring-forward"),
    pytest.param(TORONTO, (2026, 10, 31, 21, 0), id="Toronto-before-fall-back"),
    pytest.param(ISTANBUL, (2026, 6, 15, 9, 30), id="Istanbul"),
]


@pytest.mark.parametrize(("zone", "warned"), WARNED)
def test_the_grace_after_an_inactivity_warning_is_kept_whole(zone, warned):
    warned_at = local(zone, *warned)
    state = remediation_state(zone, warned_at - WARN, warned_at)
    grace_end = warned_at + GRACE

    # Early wake-ups, up to the last microsecond of the grace: no escalation, and the
    # timer points at the end of the grace.
    for now in (warned_at, warned_at + US, warned_at + DAY, grace_end - HOUR, grace_end - US):
        assert plan(state, now, DEFAULT_RULES) == Due(next_at=grace_end, **KEEP), now
    for now in (grace_end, grace_end + US):
        assert plan(state, now, DEFAULT_RULES) == Due(escalate="non_cooperation", **KEEP)


@pytest.mark.parametrize(("zone", "warned"), WARNED)
def test_the_inactivity_warning_comes_at_the_end_of_the_quiet_days_and_starts_the_grace(
    zone, warned
):
    warn_at = local(zone, *warned)
    state = remediation_state(zone, warn_at - WARN, None)

    assert plan(state, warn_at - US, DEFAULT_RULES) == Due(next_at=warn_at, **KEEP)
    for now in (warn_at, warn_at + US, warn_at + 3 * HOUR):  # on time, or a late sweep
        due = plan(state, now, DEFAULT_RULES)
        assert due == Due(inactivity_warning=True, next_at=now + GRACE, **KEEP)
    # With no activity on record, the quiet days count from the start of remediation.
    started = replace(state, last_seller_activity_at=None)
    assert plan(started, warn_at - DAY - US, DEFAULT_RULES).next_at == warn_at - DAY
    assert plan(started, warn_at - DAY, DEFAULT_RULES).inactivity_warning


def in_remediation(clock, specialist, zone: str) -> Case:
    """A case of a seller in ``zone``, opened, contacted and put into remediation now."""
    case = clock.open_case(timers.seller_in(zone))
    case_transition(case_id=case.pk, name="contact", by=specialist, reason="Called back")
    remediation_step_add(
        case_id=case.pk,
        by=specialist,
        text="Ship on time",
        owner="seller",
        due_on=dt.date(2026, 12, 1),
    )
    return case_transition(case_id=case.pk, name="start_remediation", by=specialist)


def wake_early(case: Case, at: dt.datetime) -> None:
    """Another writer set the case's timer early (allowed: never late)."""
    Case.objects.filter(pk=case.pk).update(next_action_at=at)


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "warned"), WARNED)
def test_the_sweep_waking_early_keeps_the_grace_and_escalates_once_at_its_end(
    clock_at, desk, zone, warned
):
    _, specialist = desk
    warned_at = local(zone, *warned)
    clock = clock_at(warned_at - WARN)
    case = in_remediation(clock, specialist, zone)
    assert case.next_action_at == warned_at

    assert clock.sweep(warned_at - US).cases == 0
    assert clock.sweep(warned_at).warnings == 1
    case.refresh_from_db()
    assert (case.inactivity_warned_at, case.next_action_at) == (warned_at, warned_at + GRACE)

    for early in (warned_at + US, warned_at + DAY, warned_at + GRACE - US):
        wake_early(case, early)
        report = clock.sweep(early)
        assert (report.cases, report.escalated) == (1, 0), early
        case.refresh_from_db()
        assert (case.status, case.next_action_at) == (Case.Status.IN_REMEDIATION, warned_at + GRACE)

    report = clock.sweep(warned_at + GRACE)
    assert report.escalated == 1
    assert clock.sweep(warned_at + GRACE + US).cases == 0
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_reason == Case.EscalationReason.NON_COOPERATION
    assert case.escalated_at == warned_at + GRACE
    assert len(timers.escalations(case)) == 1
    assert timers.warning_times(case) == [warned_at]


# --- 3. next_action_at after an action or a transition -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "evening", "morning", "night_hours"), NIGHTS)
def test_next_action_for_is_now_when_due_and_the_next_edge_otherwise(
    django_capture_on_commit_callbacks, zone, evening, morning, night_hours
):
    """A case opened at 17:00 local, its +4 h retry moved to 08:00 the next day."""
    five_pm = at_wall(zone, evening, dt.time(17))
    eight_am = dt.datetime.fromisoformat(morning)
    with time_machine.travel(five_pm, tick=False):
        case = timers.open_unswept(django_capture_on_commit_callbacks, timers.seller_in(zone))
    case.refresh_from_db()

    # Nothing done yet: the opening email and first call are due now, and stay due.
    assert next_action_for(case, five_pm) == five_pm
    assert next_action_for(case, five_pm + US) == five_pm + US
    # After the opening sweep: the next edge is the retry's morning, whatever the moment.
    case.outreach_started_at, case.call_rounds = five_pm, 1
    for now in (five_pm, five_pm + 4 * HOUR - US, five_pm + 4 * HOUR, eight_am - US):
        assert next_action_for(case, now) == eight_am, now
    assert next_action_for(case, eight_am) == eight_am
    assert next_action_for(case, eight_am + US) == eight_am + US
    # The 24-hours-left warning, once the calls before it are made.
    case.call_rounds = 3
    warning = case.reach_deadline - 24 * HOUR
    assert next_action_for(case, warning - US) == warning
    assert next_action_for(case, warning) == warning
    # The deadline: due at the instant itself.
    case.call_rounds, case.deadline_warnings = 5, 2
    assert next_action_for(case, case.reach_deadline - US) == case.reach_deadline
    assert next_action_for(case, case.reach_deadline) == case.reach_deadline

    # In remediation: the warning, then the grace end.
    base = case.reach_deadline
    case = in_state(case, Case.Status.IN_REMEDIATION, last_seller_activity_at=base)
    assert next_action_for(case, base) == base + WARN
    assert next_action_for(case, base + WARN - US) == base + WARN
    assert next_action_for(case, base + WARN) == base + WARN
    case.inactivity_warned_at = base + WARN
    assert next_action_for(case, base + WARN) == base + WARN + GRACE
    assert next_action_for(case, base + WARN + GRACE - US) == base + WARN + GRACE
    assert next_action_for(case, base + WARN + GRACE) == base + WARN + GRACE
    # No seller activity on record: the quiet days count from the start of remediation.
    case = in_state(
        case,
        Case.Status.IN_REMEDIATION,
        last_seller_activity_at=None,
        remediation_started_at=base + US,
        inactivity_warned_at=None,
    )
    assert next_action_for(case, base + US) == base + US + WARN
    assert next_action_for(case, base + US + WARN) == base + US + WARN
    # Closed: no timer.
    for status in (Case.Status.CONTACTED, Case.Status.RESOLVED, Case.Status.ESCALATED):
        assert next_action_for(in_state(case, status), base) is None


def in_state(case: Case, status: str, **fields) -> Case:
    """The case read again with ``status`` (and ``fields``) stored, as a transition would."""
    Case.objects.filter(pk=case.pk).update(status=status, **fields)
    return Case.objects.select_related("seller__store").get(pk=case.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "warned"), WARNED)
def test_a_transition_sets_the_timer_to_the_next_edge_of_the_new_state(
    clock_at, desk, zone, warned
):
    manager, specialist = desk
    start = local(zone, *warned)
    clock = clock_at(start)
    case = clock.open_case(timers.seller_in(zone))
    assert case.next_action_at > start

    # Contacted: nothing left to time.
    clock.move_to(start + HOUR)
    case = case_transition(case_id=case.pk, name="contact", by=specialist, reason="Reached")
    assert case.next_action_at is None
    remediation_step_add(
        case_id=case.pk, by=specialist, text="Fix it", owner="seller", due_on=dt.date(2026, 12, 1)
    )
    # In remediation from this very instant: the warning 14 days on, to the microsecond.
    clock.move_to(start + 2 * HOUR + US)
    case = case_transition(case_id=case.pk, name="start_remediation", by=specialist)
    assert case.next_action_at == start + 2 * HOUR + US + WARN
    case.refresh_from_db()
    assert case.next_action_at == start + 2 * HOUR + US + WARN
    # Escalated by hand, then reinstated (contacted): no timer either way.
    clock.move_to(start + 3 * HOUR)
    case = case_transition(case_id=case.pk, name="escalate", by=specialist, reason="Stuck")
    assert case.next_action_at is None
    case = case_transition(case_id=case.pk, name="reinstate", by=manager, reason="Back")
    assert case.next_action_at is None


@pytest.mark.django_db
def test_a_connected_call_leaves_no_timer(clock_at, desk):
    opened_at = local(ISTANBUL, 2026, 6, 15, 17, 0)
    clock = clock_at(opened_at)
    case = clock.open_case(timers.seller_in(ISTANBUL))
    [call] = timers.calls(case)

    clock.move_to(opened_at + 4 * HOUR)  # 21:00, the retry is waiting for the morning
    case = case_call_connected(attempt_id=call.pk)

    assert case.status == Case.Status.CONTACTED
    assert case.next_action_at is None


# --- 4. a warning at the same instant as the seller's last activity ------------------------


@pytest.mark.parametrize(("zone", "warned"), WARNED)
def test_a_warning_at_the_instant_of_the_last_activity_starts_the_grace(zone, warned):
    at = local(zone, *warned)
    same = remediation_state(zone, at, at)

    for now in (at, at + US, at + GRACE - US):
        due = plan(same, now, DEFAULT_RULES)
        assert not due.anything
        assert due.next_at == at + GRACE
    assert plan(same, at + GRACE, DEFAULT_RULES).escalate == "non_cooperation"

    # 1 µs later than the activity, the warning is still the one after it.
    after = remediation_state(zone, at, at + US)
    assert plan(after, at, DEFAULT_RULES).next_at == at + US + GRACE
    assert plan(after, at + US + GRACE, DEFAULT_RULES).escalate == "non_cooperation"
    # 1 µs earlier, the seller acted after it: a fresh count of quiet days, then a warning.
    before = remediation_state(zone, at, at - US)
    assert plan(before, at, DEFAULT_RULES).next_at == at + WARN
    assert not plan(before, at + GRACE, DEFAULT_RULES).anything
    assert plan(before, at + WARN - US, DEFAULT_RULES) == Due(next_at=at + WARN, **KEEP)
    assert plan(before, at + WARN, DEFAULT_RULES).inactivity_warning


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("acted_after", "escalated_after"),
    [
        # The seller's step is done at the very instant the sweep warns: the grace runs.
        pytest.param(dt.timedelta(0), GRACE, id="same-instant"),
        # 1 µs after the warning, it is new activity: 14 quiet days again, another warning.
        pytest.param(US, None, id="one-microsecond-later"),
    ],
)
def test_the_sweep_warning_as_the_seller_acts_starts_the_grace(
    clock_at, desk, acted_after, escalated_after
):
    _, specialist = desk
    started = local(LA, 2026, 3, 1, 9, 0)
    clock = clock_at(started)
    case = in_remediation(clock, specialist, LA)
    step = case.steps.get()
    warned_at = started + WARN

    clock.sweep(warned_at)
    clock.move_to(warned_at + acted_after)
    remediation_step_complete(step_id=step.pk, by=specialist)
    for moment in (warned_at + GRACE - US, warned_at + GRACE, warned_at + GRACE + US):
        clock.sweep(moment)

    case.refresh_from_db()
    assert timers.warning_times(case) == [warned_at]
    if escalated_after is None:
        assert case.status == Case.Status.IN_REMEDIATION
        assert case.next_action_at == warned_at + US + WARN
        clock.sweep(warned_at + US + WARN)
        assert timers.warning_times(case) == [warned_at, warned_at + US + WARN]
    else:
        assert case.status == Case.Status.ESCALATED
        assert case.escalated_at == warned_at + escalated_after
        assert len(timers.escalations(case)) == 1
    emails = [m for m in mail.outbox if m.to == [case.seller.email]]
    assert len(emails) == 1 + len(timers.warning_times(case))  # the opening, the warnings


# --- properties over the rules' edges -------------------------------------------------------


def acted(state: TimerState, due: Due, now: dt.datetime) -> TimerState:
    """The state the sweep stores after acting on ``due`` at ``now``."""
    return replace(
        state,
        outreach_started=state.outreach_started or due.opening_email,
        call_rounds=due.call_rounds,
        deadline_warnings=due.deadline_warnings,
        inactivity_warned_at=now if due.inactivity_warning else state.inactivity_warned_at,
    )


@settings(max_examples=300)
@given(case=cases_and_moments())
@example(  # Opened at 17:00 in Istanbul: the +4 h retry at 21:00:00 waits for 08:00.
    case=(
        assured_state(
            local(ISTANBUL, 2026, 6, 15, 17), ISTANBUL, outreach_started=True, call_rounds=1
        ),
        local(ISTANBUL, 2026, 6, 15, 17),
        DEFAULT_RULES,
    )
)
@example(  # Warned at the instant of the last activity: the grace, not a second warning.
    case=(
        remediation_state(LA, local(LA, 2026, 3, 7, 21), local(LA, 2026, 3, 7, 21)),
        local(LA, 2026, 3, 7, 21) + US,
        DEFAULT_RULES,
    )
)
def test_plan_wakes_at_the_next_edge_exactly(case):
    """After acting, nothing is due until ``next_at`` (checked 1 µs before it), and at
    ``next_at`` something is: the wake-up is neither now, nor early for nothing, nor late."""
    state, now, chosen = case
    due = plan(state, now, chosen)
    if due.escalate:
        return
    assert due.next_at is not None
    assert due.next_at > now
    after = acted(state, due, now)
    if due.next_at - US > now:
        assert not plan(after, due.next_at - US, chosen).anything
    assert plan(after, due.next_at, chosen).anything


@settings(max_examples=200)
@given(chosen=rules.filter(lambda r: r.quiet_hours is not None), data=st.data())
def test_quiet_hours_near_their_edges_are_the_wall_clock_in_the_window(chosen, data):
    """Read off the seller's wall clock by hand: the start of the window is in it, the end
    is not, 1 µs either side of each, on DST nights too."""
    state = data.draw(outreach_states(chosen))
    edges = quiet_edges(state.time_zone, chosen, state.opened_at, state.reach_deadline)
    moment = data.draw(near(edges))
    start, end = chosen.quiet_hours
    clock = wall(moment, state.time_zone).time()
    by_hand = start <= clock < end if start < end else (clock >= start or clock < end)
    assert in_quiet_hours(moment, state.time_zone, chosen) == by_hand


@settings(max_examples=200)
@given(case=remediation_cases())
def test_inactivity_by_the_book(case):
    """A warning counts from the seller's last activity on: one stamped at that very instant
    or later starts the grace (no second warning), and escalation comes when the grace is
    over, not a microsecond before. Otherwise the warning comes after the quiet days."""
    state, now, chosen = case
    base = state.last_seller_activity_at or state.remediation_started_at
    warned = state.inactivity_warned_at
    due = plan(state, now, chosen)
    if warned is not None and warned >= base:
        grace_end = warned + dt.timedelta(days=chosen.inactivity_grace_days)
        assert not due.inactivity_warning
        assert due.escalate == ("non_cooperation" if now >= grace_end else None)
        assert due.next_at == (None if now >= grace_end else grace_end)
    else:
        warn_at = base + dt.timedelta(days=chosen.inactivity_warn_days)
        assert not due.escalate
        assert due.inactivity_warning == (now >= warn_at)
        grace = dt.timedelta(days=chosen.inactivity_grace_days)
        assert due.next_at == (now + grace if now >= warn_at else warn_at)


@settings(max_examples=200)
@given(case=cases_and_moments())
def test_no_escalation_before_its_moment(case):
    """Unreachable only at or after the deadline; non-cooperation only after a warning that
    is not older than the seller's last activity, and once its grace is over."""
    state, now, chosen = case
    due = plan(state, now, chosen)
    if due.escalate == "unreachable":
        assert now >= state.reach_deadline
    elif due.escalate == "non_cooperation":
        base = state.last_seller_activity_at or state.remediation_started_at
        assert state.inactivity_warned_at is not None
        assert state.inactivity_warned_at >= base
        assert now >= state.inactivity_warned_at + dt.timedelta(days=chosen.inactivity_grace_days)
    if due.inactivity_warning:
        base = state.last_seller_activity_at or state.remediation_started_at
        assert now >= base + dt.timedelta(days=chosen.inactivity_warn_days)
        assert state.inactivity_warned_at is None or state.inactivity_warned_at < base
    if state.status == IN_REMEDIATION:
        assert not due.call
        assert due.warning_hours_left is None


@settings(max_examples=150)
@given(chosen=rules, data=st.data())
def test_a_sweep_on_time_or_early_calls_outside_quiet_hours_and_before_the_deadline(chosen, data):
    """The sweep wakes when ``plan`` asks, or earlier (another writer set the timer early),
    at moments drawn near the rules' edges: every call rings outside quiet hours, before
    the deadline, at its call time; the escalation comes at the deadline, once."""
    state = data.draw(outreach_states(chosen).map(lambda s: replace(s, call_rounds=0)))
    state = replace(state, outreach_started=False, deadline_warnings=0)
    times = call_times(state, chosen)
    rung, warned, escalated = [], [], []
    now = state.opened_at
    while True:
        due = plan(state, now, chosen)
        if due.call:
            rung.append(now)
        if due.warning_hours_left:
            warned.append(due.warning_hours_left)
        if due.escalate:
            escalated.append(now)
            break
        assert due.next_at > now
        state = acted(state, due, now)
        edges = [e for e in edges_of(state, chosen) if now < e < due.next_at]
        early = data.draw(st.none() | (near(edges) if edges else st.none()))
        now = early if early is not None and now < early < due.next_at else due.next_at

    assert escalated == [state.reach_deadline]
    assert rung == sorted(set(times))
    for at in rung:
        assert not in_quiet_hours(at, state.time_zone, chosen)
        assert at < state.reach_deadline
    assert warned == list(chosen.warn_hours_left)


@settings(max_examples=200)
@given(chosen=rules, data=st.data())
def test_outside_quiet_hours_near_the_edges(chosen, data):
    """At and around every start and end of quiet hours, DST nights included: the moment
    itself when allowed, else a later moment outside them, within the night."""
    state = data.draw(outreach_states(chosen))
    edges = quiet_edges(state.time_zone, chosen, state.opened_at, state.reach_deadline)
    moment = data.draw(near(edges) if edges else st.just(state.opened_at))
    allowed = outside_quiet_hours(moment, state.time_zone, chosen)

    assert not in_quiet_hours(allowed, state.time_zone, chosen)
    if in_quiet_hours(moment, state.time_zone, chosen):
        assert moment < allowed <= moment + 25 * HOUR
        assert wall(allowed, state.time_zone).time() >= chosen.quiet_hours[1]
    else:
        assert allowed == moment


def test_the_rules_of_the_settings_are_the_defaults_the_strategies_use():
    assert OutreachRules.from_settings() == DEFAULT_RULES


# --- cases the timers leave alone -------------------------------------------------------------

KEEP_OPENED = {"call_rounds": 2, "deadline_warnings": 1}


@pytest.mark.parametrize("started", [False, True])
def test_a_case_without_assurance_gets_its_opening_email_once_and_no_timer(started):
    opened_at = local(ISTANBUL, 2026, 6, 15, 21, 0)  # the first quiet instant: email anyway
    state = assured_state(
        opened_at, ISTANBUL, assured=False, reach_deadline=None, outreach_started=started
    )
    state = replace(state, **KEEP_OPENED)

    for now in (opened_at - US, opened_at, opened_at + 80 * HOUR):
        assert plan(state, now, DEFAULT_RULES) == Due(opening_email=not started, **KEEP_OPENED)


@pytest.mark.parametrize("status", ["contacted", "resolved", "escalated"])
def test_a_closed_or_contacted_case_has_nothing_due_and_keeps_its_counts(status):
    opened_at = local(TORONTO, 2026, 10, 31, 21, 0)
    state = replace(assured_state(opened_at, TORONTO, status=status), **KEEP_OPENED)

    for now in (opened_at, state.reach_deadline, state.reach_deadline + US):
        assert plan(state, now, DEFAULT_RULES) == Due(**KEEP_OPENED)
