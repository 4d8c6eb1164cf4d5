"""Properties of the pure outreach rules (``cases.outreach``; docs/domain.md "Outreach and timers").

Opening moments are any instant from 2000 to 2037, in zones chosen for their clocks: the
stores' zones, zones with half- and quarter-hour offsets, a 30-minute DST (Lord Howe), a
two-hour DST (Troll), DST switches at midnight (Havana, Santiago, Beirut), and a zone that
skipped a whole day (Apia, December 2011).
"""

import datetime as dt
from dataclasses import replace
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import assume, example, given
from hypothesis import strategies as st

from cases.outreach import (
    IN_REMEDIATION,
    OPENED,
    OutreachRules,
    TimerState,
    call_times,
    in_quiet_hours,
    outside_quiet_hours,
    plan,
    state_of,
)

# The rules and quiet windows the boundary strategies draw from too (tests/strategies.py).
from tests.strategies import DEFAULT_RULES, quiet_windows

HOUR = dt.timedelta(hours=1)
DEADLINE = dt.timedelta(hours=72)

ZONES = [
    "America/Los_Angeles",
    "America/Toronto",
    "Europe/Istanbul",
    "Europe/Berlin",
    "Europe/London",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "America/Havana",
    "America/Santiago",
    "Asia/Beirut",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "UTC",
]


zones = st.sampled_from(ZONES)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2037, 12, 31),
    timezones=st.just(dt.UTC),
)
rules = st.one_of(
    st.just(DEFAULT_RULES),
    st.builds(
        lambda quiet, retries: replace(
            DEFAULT_RULES, quiet_hours=quiet, retry_after_hours=tuple(sorted(retries))
        ),
        quiet_windows,
        st.lists(st.integers(1, 80), min_size=1, max_size=6),
    ),
)


def wall(moment: dt.datetime, zone: str) -> dt.time:
    return moment.astimezone(ZoneInfo(zone)).time()


def quiet_by_hand(moment: dt.datetime, zone: str, rules: OutreachRules) -> bool:
    start, end = rules.quiet_hours
    local = wall(moment, zone)
    return start <= local < end if start < end else (local >= start or local < end)


def opened_state(opened_at: dt.datetime, zone: str, **changes) -> TimerState:
    state = TimerState(
        status=OPENED,
        assured=True,
        opened_at=opened_at,
        reach_deadline=opened_at + DEADLINE,
        time_zone=zone,
        outreach_started=False,
        call_rounds=0,
        deadline_warnings=0,
        last_seller_activity_at=None,
        remediation_started_at=None,
        inactivity_warned_at=None,
    )
    return replace(state, **changes)


# --- quiet hours ------------------------------------------------------------------------


@given(moment=moments, zone=zones, rules=rules)
# 00:45 EDT on the night the clocks go back: 08:00 comes 8 h 15 min later, not 7 h 15.
@example(
    moment=dt.datetime(2026, 11, 1, 4, 45, tzinfo=dt.UTC),
    zone="America/Toronto",
    rules=DEFAULT_RULES,
)
def test_in_quiet_hours_is_the_seller_wall_clock_in_the_window(moment, zone, rules):
    assert in_quiet_hours(moment, zone, rules) == quiet_by_hand(moment, zone, rules)


@given(moment=moments, zone=zones, rules=rules)
@example(
    moment=dt.datetime(2026, 3, 7, 6, 30, tzinfo=dt.UTC),  # 22:30 PST, before the switch
    zone="America/Los_Angeles",
    rules=DEFAULT_RULES,
)
# 01:15 PST, in the hour repeated when the clocks go back, with a window ending at 01:30:
# the first 01:30 (PDT) is already past; the call waits for the second.
@example(
    moment=dt.datetime(2026, 11, 1, 9, 15, tzinfo=dt.UTC),
    zone="America/Los_Angeles",
    rules=replace(DEFAULT_RULES, quiet_hours=(dt.time(21), dt.time(1, 30))),
)
def test_outside_quiet_hours_is_the_first_moment_the_seller_may_be_called(moment, zone, rules):
    allowed = outside_quiet_hours(moment, zone, rules)

    assert not in_quiet_hours(allowed, zone, rules)
    assert allowed >= moment
    if not in_quiet_hours(moment, zone, rules):
        assert allowed == moment
    else:
        # The end of this very night: the window's end on the wall clock, within a day.
        assert allowed - moment <= 25 * HOUR
        assert wall(allowed, zone) >= rules.quiet_hours[1]


@given(moment=moments, zone=zones)
def test_without_quiet_hours_every_moment_may_be_called(moment, zone):
    rules = replace(DEFAULT_RULES, quiet_hours=None)
    assert not in_quiet_hours(moment, zone, rules)
    assert outside_quiet_hours(moment, zone, rules) == moment


@given(moment=moments, zone=zones)
def test_with_the_default_window_calls_wait_for_eight_in_the_morning(moment, zone):
    assume(in_quiet_hours(moment, zone, DEFAULT_RULES))
    allowed = outside_quiet_hours(moment, zone, DEFAULT_RULES)
    assert wall(allowed, zone) == dt.time(8)
    # A night is 11 hours; the clocks going back make it longer (by two hours at Troll).
    assert allowed - moment <= 13 * HOUR


# --- the call cadence -------------------------------------------------------------------


@given(opened_at=moments, zone=zones, rules=rules)
def test_calls_never_ring_in_quiet_hours_nor_at_or_after_the_deadline(opened_at, zone, rules):
    state = opened_state(opened_at, zone)
    times = call_times(state, rules)

    assert times == sorted(times)
    for at in times:
        assert not in_quiet_hours(at, zone, rules)
        assert opened_at <= at < state.reach_deadline
    # Each round rings at its own time, or at the end of the night it fell into.
    for offset in rules.call_offsets:
        due = opened_at + offset
        if due < state.reach_deadline and not in_quiet_hours(due, zone, rules):
            assert due in times


@given(opened_at=moments, zone=zones)
def test_the_first_call_is_at_once_or_at_the_end_of_the_night(opened_at, zone):
    times = call_times(opened_state(opened_at, zone), DEFAULT_RULES)
    assert times[0] == outside_quiet_hours(opened_at, zone, DEFAULT_RULES)


# --- plan -------------------------------------------------------------------------------

states = st.builds(
    lambda opened_at, zone, status, assured, rounds, warnings, started, activity, warned: (
        opened_state(
            opened_at,
            zone,
            status=status,
            assured=assured,
            reach_deadline=opened_at + DEADLINE if assured else None,
            outreach_started=rounds > 0 or started,
            call_rounds=rounds,
            deadline_warnings=warnings,
            remediation_started_at=opened_at + activity if status == IN_REMEDIATION else None,
            last_seller_activity_at=opened_at + activity if activity else None,
            inactivity_warned_at=opened_at + warned if warned is not None else None,
        )
    ),
    opened_at=moments,
    zone=zones,
    status=st.sampled_from([OPENED, IN_REMEDIATION, "contacted", "resolved", "escalated"]),
    assured=st.booleans(),
    rounds=st.integers(0, 5),
    warnings=st.integers(0, 2),
    started=st.booleans(),
    activity=st.timedeltas(dt.timedelta(0), dt.timedelta(days=60)),
    warned=st.none() | st.timedeltas(dt.timedelta(0), dt.timedelta(days=60)),
)


@given(state=states, later=st.timedeltas(dt.timedelta(0), dt.timedelta(days=90)), rules=rules)
def test_plan_never_asks_to_be_woken_at_or_before_now(state, later, rules):
    now = state.opened_at + later
    due = plan(state, now, rules)
    assert due.next_at is None or due.next_at > now
    # Only a case the timers are done with is left with nothing to do and no wake-up.
    timed = state.status == IN_REMEDIATION or (state.status == OPENED and state.assured)
    if timed:
        assert due.anything or due.next_at is not None


def sweep_at_every_wake_up(state: TimerState, until: dt.datetime, rules: OutreachRules):
    """What a sweep that never misses its moment does: (moment, Due) for each action."""
    acted = []
    now = state.opened_at
    while now is not None and now <= until:
        due = plan(state, now, rules)
        if due.anything:
            acted.append((now, due))
        state = replace(
            state,
            outreach_started=state.outreach_started or due.opening_email,
            call_rounds=due.call_rounds,
            deadline_warnings=due.deadline_warnings,
        )
        if due.escalate:
            break
        now = due.next_at
    return state, acted


@given(opened_at=moments, zone=zones, rules=rules)
def test_a_sweep_on_time_calls_at_each_call_time_once_and_escalates_at_the_deadline(
    opened_at, zone, rules
):
    state = opened_state(opened_at, zone)
    _, acted = sweep_at_every_wake_up(state, opened_at + 2 * DEADLINE, rules)

    assert [at for at, due in acted if due.call] == sorted(set(call_times(state, rules)))
    assert [(at, due.warning_hours_left) for at, due in acted if due.warning_hours_left] == [
        (state.reach_deadline - hours * HOUR, hours) for hours in rules.warn_hours_left
    ]
    assert [(at, due.escalate) for at, due in acted if due.escalate] == [
        (state.reach_deadline, "unreachable")
    ]
    assert [at for at, due in acted if due.opening_email] == [opened_at]


@given(
    opened_at=moments,
    zone=zones,
    rules=rules,
    down_for=st.timedeltas(dt.timedelta(0), DEADLINE - dt.timedelta(seconds=1)),
)
def test_missed_rounds_collapse_into_one_call_and_the_latest_warning(
    opened_at, zone, rules, down_for
):
    """After the opening sweep, the sweep is down until ``back``: one action catches up."""
    state = opened_state(opened_at, zone)
    first = plan(state, opened_at, rules)
    state = replace(
        state,
        outreach_started=True,
        call_rounds=first.call_rounds,
        deadline_warnings=first.deadline_warnings,
    )
    back = opened_at + down_for

    due = plan(state, back, rules)

    missed_calls = [at for at in call_times(state, rules)[state.call_rounds :] if at <= back]
    assert due.call == bool(missed_calls)
    missed_warnings = [
        hours for hours in rules.warn_hours_left if state.reach_deadline - hours * HOUR <= back
    ]
    assert due.warning_hours_left == (missed_warnings[-1] if missed_warnings else None)
    assert not due.escalate
    assert not due.opening_email
    # ...and leaves the case where a sweep that never missed a moment would have.
    caught_up, _ = sweep_at_every_wake_up(state, back, rules)
    assert (due.call_rounds, due.deadline_warnings) == (
        caught_up.call_rounds,
        caught_up.deadline_warnings,
    )


def test_the_rules_come_from_the_settings(settings):
    settings.AHA = {
        **settings.AHA,
        "RETRY_AFTER_HOURS": (24, 4),
        "QUIET_HOURS": (dt.time(22), dt.time(7)),
        "WARN_HOURS_LEFT": (6, 12, 24),
        "INACTIVITY_WARN_DAYS": 10,
        "INACTIVITY_GRACE_DAYS": 3,
    }
    assert OutreachRules.from_settings() == OutreachRules(
        retry_after_hours=(4, 24),
        quiet_hours=(dt.time(22), dt.time(7)),
        warn_hours_left=(24, 12, 6),
        inactivity_warn_days=10,
        inactivity_grace_days=3,
    )


# --- account-health cases (issue 15) ---------------------------------------------------


def health_state(opened_at: dt.datetime, zone: str, **changes) -> TimerState:
    return opened_state(
        opened_at, zone, assured=False, reach_deadline=None, kind="account_health", **changes
    )


@given(opened_at=moments, zone=zones, rules=rules)
def test_an_account_health_case_emails_at_once_and_calls_once_outside_quiet_hours(
    opened_at, zone, rules
):
    state = health_state(opened_at, zone, deadline_warnings=1)
    call_at = outside_quiet_hours(opened_at, zone, rules)
    first = plan(state, opened_at, rules)
    assert first.opening_email
    assert first.deadline_warnings == 1, "what the case counted is kept"
    assert first.warning_hours_left is None
    assert first.escalate is None
    if call_at > opened_at:
        assert not first.call
        assert first.call_rounds == 0
        assert first.next_at == call_at, "woken for the seller's morning"
        just_before = plan(
            replace(state, outreach_started=True), call_at - dt.timedelta(microseconds=1), rules
        )
        assert not just_before.anything
        assert just_before.next_at == call_at
    else:
        assert first.call
        assert first.call_rounds == 1
        assert first.next_at is None
    at_call = plan(replace(state, outreach_started=True), call_at, rules)
    assert at_call.call
    assert not at_call.opening_email
    assert (at_call.call_rounds, at_call.next_at) == (1, None)
    # Once called, nothing more: no retries, no deadline, no escalation, ever.
    called = replace(state, outreach_started=True, call_rounds=1)
    for later in (call_at, call_at + 100 * DEADLINE):
        after = plan(called, later, rules)
        assert not after.anything
        assert after.next_at is None
        assert after.call_rounds == 1
        assert after.deadline_warnings == 1


@given(opened_at=moments, zone=zones, status=st.sampled_from(["contacted", IN_REMEDIATION]))
def test_an_account_health_case_the_seller_answered_needs_no_timer(opened_at, zone, status):
    state = health_state(
        opened_at,
        zone,
        status=status,
        outreach_started=True,
        remediation_started_at=opened_at,
        deadline_warnings=2,
    )
    # Long after: a critical case in remediation would be warned and escalated by now.
    due = plan(state, opened_at + 60 * DEADLINE, DEFAULT_RULES)
    assert not due.anything
    assert due.next_at is None
    assert due.call_rounds == 0
    assert due.deadline_warnings == 2, "what the case counted is kept"


def test_the_timers_read_the_kind_of_the_case():
    opened_at = dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)
    case = SimpleNamespace(
        status=OPENED,
        assured=False,
        opened_at=opened_at,
        reach_deadline=None,
        seller=SimpleNamespace(store=SimpleNamespace(time_zone="America/Los_Angeles")),
        outreach_started_at=None,
        call_rounds=0,
        deadline_warnings=0,
        last_seller_activity_at=None,
        remediation_started_at=None,
        inactivity_warned_at=None,
        kind="account_health",
    )
    assert state_of(case) == health_state(opened_at, "America/Los_Angeles")
