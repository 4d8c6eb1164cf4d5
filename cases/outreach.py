"""When to call, warn and escalate (docs/domain.md "Outreach and timers"), as pure functions.

Nothing here reads the database or the clock: the sweep (``cases.timers``) passes a
case's timer state and "now", and acts on the answer. Each answer also says when the
case next needs the sweep (``next_at``), which is stored in the indexed
``Case.next_action_at``; a wake-up that comes early finds nothing due and only moves
the timer on, so writers elsewhere may set it early but never late.

A missed moment (the sweep was down, a worker was slow) is acted on once, late: calls
that fell due meanwhile collapse into one call, warnings into the latest one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

OPENED = "opened"
IN_REMEDIATION = "in_remediation"
ACCOUNT_HEALTH = "account_health"


@dataclass(frozen=True)
class OutreachRules:
    retry_after_hours: tuple[int, ...]
    quiet_hours: tuple[dt.time, dt.time] | None
    warn_hours_left: tuple[int, ...]
    inactivity_warn_days: int
    inactivity_grace_days: int

    @classmethod
    def from_settings(cls) -> OutreachRules:
        aha = settings.AHA
        return cls(
            retry_after_hours=tuple(sorted(aha["RETRY_AFTER_HOURS"])),
            quiet_hours=aha["QUIET_HOURS"],
            warn_hours_left=tuple(sorted(aha["WARN_HOURS_LEFT"], reverse=True)),
            inactivity_warn_days=aha["INACTIVITY_WARN_DAYS"],
            inactivity_grace_days=aha["INACTIVITY_GRACE_DAYS"],
        )

    @property
    def call_offsets(self) -> tuple[dt.timedelta, ...]:
        """The first call at the opening, then each retry."""
        return (dt.timedelta(0), *(dt.timedelta(hours=h) for h in self.retry_after_hours))


def in_quiet_hours(moment: dt.datetime, time_zone: str, rules: OutreachRules) -> bool:
    if rules.quiet_hours is None:
        return False
    start, end = rules.quiet_hours
    local = moment.astimezone(ZoneInfo(time_zone)).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def outside_quiet_hours(moment: dt.datetime, time_zone: str, rules: OutreachRules) -> dt.datetime:
    """``moment``, or the end of the seller's quiet hours it falls into."""
    if not in_quiet_hours(moment, time_zone, rules):
        return moment
    start, end = rules.quiet_hours
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    day = local.date()
    if start > end and local.time() >= start:
        day += dt.timedelta(days=1)  # the quiet night runs past midnight
    # Built from the wall clock, so a DST change overnight still gives 08:00 local. When
    # the clocks go back, the end of the window comes twice; a moment in the repeated hour
    # waits for the second one (the first is already past).
    morning = dt.datetime.combine(day, end, tzinfo=zone)
    if morning.astimezone(dt.UTC) < moment:
        morning = morning.replace(fold=1)
    return morning.astimezone(dt.UTC)


@dataclass(frozen=True)
class TimerState:
    """What the timers read of a case."""

    status: str
    assured: bool
    opened_at: dt.datetime
    reach_deadline: dt.datetime | None
    time_zone: str
    outreach_started: bool
    call_rounds: int
    deadline_warnings: int
    last_seller_activity_at: dt.datetime | None
    remediation_started_at: dt.datetime | None
    inactivity_warned_at: dt.datetime | None
    kind: str = "critical_policy"


@dataclass(frozen=True)
class Due:
    """What to do now, and the state to store after doing it."""

    opening_email: bool = False
    call: bool = False
    call_rounds: int = 0
    warning_hours_left: int | None = None
    deadline_warnings: int = 0
    escalate: str | None = None
    inactivity_warning: bool = False
    next_at: dt.datetime | None = None

    @property
    def anything(self) -> bool:
        return bool(
            self.opening_email
            or self.call
            or self.warning_hours_left
            or self.escalate
            or self.inactivity_warning
        )


def call_times(state: TimerState, rules: OutreachRules) -> list[dt.datetime]:
    """When each call round may ring: shifted out of quiet hours, and before the deadline."""
    times = []
    for offset in rules.call_offsets:
        at = outside_quiet_hours(state.opened_at + offset, state.time_zone, rules)
        if state.reach_deadline is not None and at >= state.reach_deadline:
            continue
        times.append(at)
    return times


def warning_times(state: TimerState, rules: OutreachRules) -> list[tuple[int, dt.datetime]]:
    return [
        (hours, state.reach_deadline - dt.timedelta(hours=hours)) for hours in rules.warn_hours_left
    ]


def plan(state: TimerState, now: dt.datetime, rules: OutreachRules) -> Due:
    """What is due at ``now``, and when the case next needs looking at."""
    if state.kind == ACCOUNT_HEALTH:
        return _plan_account_health(state, now, rules)
    if state.status == OPENED and state.assured and state.reach_deadline is not None:
        return _plan_assured_outreach(state, now, rules)
    if state.status == OPENED:
        # No assurance: the seller is told by email; specialists take it from there.
        return Due(
            opening_email=not state.outreach_started,
            call_rounds=state.call_rounds,
            deadline_warnings=state.deadline_warnings,
        )
    if state.status == IN_REMEDIATION:
        return _plan_remediation(state, now, rules)
    return Due(call_rounds=state.call_rounds, deadline_warnings=state.deadline_warnings)


def _plan_assured_outreach(state: TimerState, now: dt.datetime, rules: OutreachRules) -> Due:
    if now >= state.reach_deadline:
        return Due(
            opening_email=False,
            call_rounds=state.call_rounds,
            deadline_warnings=state.deadline_warnings,
            escalate="unreachable",
        )
    later: list[dt.datetime] = [state.reach_deadline]

    times = call_times(state, rules)
    # Rounds are numbered by their place in the cadence; rounds skipped because they would
    # ring after the deadline simply never come.
    due_rounds = sum(1 for at in times if at <= now)
    call = due_rounds > state.call_rounds
    rounds = max(state.call_rounds, due_rounds)
    later += times[rounds:]

    warnings = warning_times(state, rules)
    due_warnings = sum(1 for _, at in warnings if at <= now)
    warning = warnings[due_warnings - 1][0] if due_warnings > state.deadline_warnings else None
    later += [at for _, at in warnings[max(state.deadline_warnings, due_warnings) :]]

    return Due(
        opening_email=not state.outreach_started,
        call=call,
        call_rounds=rounds,
        warning_hours_left=warning,
        deadline_warnings=max(state.deadline_warnings, due_warnings),
        next_at=min(at for at in later if at > now),
    )


def _plan_account_health(state: TimerState, now: dt.datetime, rules: OutreachRules) -> Due:
    """An account-health case: the email at once, one call (with the text) in the seller's
    daytime, while the case is still opened; no deadline, warnings or escalation."""
    keep = {"deadline_warnings": state.deadline_warnings}
    if state.status != OPENED or state.call_rounds:
        return Due(call_rounds=state.call_rounds, **keep)
    call_at = outside_quiet_hours(state.opened_at, state.time_zone, rules)
    if now < call_at:
        return Due(opening_email=not state.outreach_started, next_at=call_at, **keep)
    return Due(opening_email=not state.outreach_started, call=True, call_rounds=1, **keep)


def _plan_remediation(state: TimerState, now: dt.datetime, rules: OutreachRules) -> Due:
    base = state.last_seller_activity_at or state.remediation_started_at or state.opened_at
    keep = {"call_rounds": state.call_rounds, "deadline_warnings": state.deadline_warnings}
    warned = state.inactivity_warned_at
    if warned is None or warned < base:
        warn_at = base + dt.timedelta(days=rules.inactivity_warn_days)
        if now < warn_at:
            return Due(next_at=warn_at, **keep)
        return Due(
            inactivity_warning=True,
            next_at=now + dt.timedelta(days=rules.inactivity_grace_days),
            **keep,
        )
    escalate_at = warned + dt.timedelta(days=rules.inactivity_grace_days)
    if now < escalate_at:
        return Due(next_at=escalate_at, **keep)
    return Due(escalate="non_cooperation", **keep)


def state_of(case) -> TimerState:
    return TimerState(
        status=case.status,
        assured=case.assured,
        opened_at=case.opened_at,
        reach_deadline=case.reach_deadline,
        time_zone=case.seller.store.time_zone,
        outreach_started=case.outreach_started_at is not None,
        call_rounds=case.call_rounds,
        deadline_warnings=case.deadline_warnings,
        last_seller_activity_at=case.last_seller_activity_at,
        remediation_started_at=case.remediation_started_at,
        inactivity_warned_at=case.inactivity_warned_at,
        kind=case.kind,
    )


def next_action_for(case, now: dt.datetime) -> dt.datetime | None:
    """When the sweep should next look at ``case``: now if something is due already."""
    due = plan(state_of(case), now, OutreachRules.from_settings())
    return now if due.anything else due.next_at
