"""Hypothesis strategies for the timers that aim at the rules' edges (issue #16).

Random instants almost never land on 21:00:00.000000 local, on a retry moment or on a
grace end, so a bug that only shows at an edge (``<`` for ``<=``) goes unseen. These
strategies draw moments from the set of edges of a case's rules, each exactly or one
microsecond either side, mixed with random moments:

- quiet-hour starts and ends on the seller's wall clock, on the days around a moment, for
  both readings of a wall time the clocks show twice;
- the moments the cadence asks for (opening + retry) and the moments the calls ring
  (moved out of quiet hours), the deadline warnings and the deadline;
- in remediation, the inactivity warning and the end of its grace.

Openings are aimed too: a case opened so that one of its retries (or its deadline) falls
exactly on an edge of quiet hours, often in the days before a DST change of its zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from cases.outreach import IN_REMEDIATION, OPENED, OutreachRules, TimerState, call_times

US = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
DEADLINE = dt.timedelta(hours=72)

# The stores' zones and zones with unusual clocks: Istanbul has no DST; Los Angeles and
# Toronto change in March and November; Lord Howe by 30 minutes, Troll by two hours;
# Havana, Santiago and Beirut at midnight; Apia skipped 30 December 2011; Kathmandu and
# Chatham are off by a quarter hour.
ZONES = [
    "America/Los_Angeles",
    "America/Toronto",
    "Europe/Istanbul",
    "Europe/Berlin",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Antarctica/Troll",
    "America/Havana",
    "America/Santiago",
    "Asia/Beirut",
    "Pacific/Apia",
    "Pacific/Chatham",
    "UTC",
]
# Years whose DST changes the openings aim at (2011: Apia's skipped day).
DST_YEARS = (2011, 2026, 2030)

DEFAULT_RULES = OutreachRules(
    retry_after_hours=(4, 24, 48, 66),
    quiet_hours=(dt.time(21), dt.time(8)),
    warn_hours_left=(24, 6),
    inactivity_warn_days=14,
    inactivity_grace_days=7,
)

zones = st.sampled_from(ZONES)
random_moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2037, 12, 31),
    timezones=st.just(dt.UTC),
)

# Quiet windows of whole quarter hours, overnight (21:00-08:00) or within a day (12:00-14:00),
# some starting or ending where the clocks jump (02:00-03:00 in North America and Europe).
quarter_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
quiet_windows = st.tuples(quarter_times, quarter_times).filter(lambda w: w[0] != w[1])
rules = st.one_of(
    st.just(DEFAULT_RULES),
    st.builds(
        lambda quiet, retries, warn, grace: replace(
            DEFAULT_RULES,
            quiet_hours=quiet,
            retry_after_hours=tuple(sorted(retries)),
            inactivity_warn_days=warn,
            inactivity_grace_days=grace,
        ),
        st.none() | quiet_windows,
        st.lists(st.integers(1, 80), min_size=1, max_size=6),
        st.integers(1, 30),
        st.integers(1, 14),
    ),
)


def nudged(moment: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    """``moment`` itself, one microsecond before, or one after."""
    return st.sampled_from([moment, moment - US, moment + US])


def near(edges: list[dt.datetime]) -> st.SearchStrategy[dt.datetime]:
    """One of ``edges``, exactly or 1 µs either side."""
    return st.sampled_from(sorted(set(edges))).flatmap(nudged)


def wall_moments(zone: str, day: dt.date, wall: dt.time) -> list[dt.datetime]:
    """The instants (UTC) the seller's clock reads ``wall`` on ``day``: two where the clocks
    go back, and where they jump past ``wall``, the instant each reading of it names."""
    tz = ZoneInfo(zone)
    return sorted(
        {
            dt.datetime.combine(day, wall, tzinfo=tz).replace(fold=fold).astimezone(dt.UTC)
            for fold in (0, 1)
        }
    )


def quiet_edges(
    zone: str, rules: OutreachRules, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """Starts and ends of the quiet hours in ``zone`` from the day before ``start`` to the
    day after ``end``."""
    if rules.quiet_hours is None:
        return []
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date() - DAY
    last = end.astimezone(tz).date() + DAY
    edges = []
    while day <= last:
        for wall in rules.quiet_hours:
            edges += wall_moments(zone, day, wall)
        day += DAY
    return edges


@cache
def dst_changes(zone: str) -> tuple[dt.datetime, ...]:
    """The instants (UTC, to the second) ``zone`` changed its offset in ``DST_YEARS``."""
    tz = ZoneInfo(zone)
    changes = []
    for year in DST_YEARS:
        moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        while moment.year == year:
            after = moment + DAY
            if moment.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
                low, high = moment, after
                while high - low > dt.timedelta(seconds=1):
                    middle = low + (high - low) / 2
                    same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                    low, high = (middle, high) if same else (low, middle)
                changes.append(high.replace(microsecond=0))
            moment = after
    return tuple(changes)


@st.composite
def anchors(draw, zone: str) -> dt.datetime:
    """A random moment, or one in the four days before a DST change of ``zone``."""
    changes = dst_changes(zone)
    if changes and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        return change - draw(st.timedeltas(dt.timedelta(0), 4 * DAY))
    return draw(random_moments)


@st.composite
def openings(draw, zone: str, rules: OutreachRules) -> dt.datetime:
    """When a case opens: at random, or (mostly) so that the opening, a retry or the
    deadline falls on an edge of the quiet hours, exactly or 1 µs either side."""
    anchor = draw(anchors(zone))
    edges = quiet_edges(zone, rules, anchor, anchor + DAY)
    if not edges or draw(st.integers(0, 3)) == 0:
        return anchor
    edge = draw(st.sampled_from(edges))
    offset = draw(st.sampled_from([*rules.call_offsets, DEADLINE]))
    return draw(nudged(edge - offset))


def assured_state(opened_at: dt.datetime, zone: str, **changes) -> TimerState:
    """An assured case just opened at ``opened_at``, nothing done yet."""
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


def outreach_edges(state: TimerState, rules: OutreachRules) -> list[dt.datetime]:
    """Every moment the outreach rules of an assured case turn on."""
    edges = [state.opened_at, state.reach_deadline]
    edges += [state.opened_at + offset for offset in rules.call_offsets]
    edges += call_times(state, rules)
    edges += [state.reach_deadline - hours * HOUR for hours in rules.warn_hours_left]
    edges += quiet_edges(state.time_zone, rules, state.opened_at, state.reach_deadline)
    return edges


def remediation_edges(state: TimerState, rules: OutreachRules) -> list[dt.datetime]:
    """The moments the inactivity rules of a case in remediation turn on."""
    base = state.last_seller_activity_at or state.remediation_started_at or state.opened_at
    warn = dt.timedelta(days=rules.inactivity_warn_days)
    grace = dt.timedelta(days=rules.inactivity_grace_days)
    edges = [base, base + warn, base + warn + grace]
    if state.inactivity_warned_at is not None:
        edges += [state.inactivity_warned_at, state.inactivity_warned_at + grace]
    return edges


def edges_of(state: TimerState, rules: OutreachRules) -> list[dt.datetime]:
    if state.status == IN_REMEDIATION:
        return remediation_edges(state, rules)
    return outreach_edges(state, rules)


@st.composite
def outreach_states(draw, rules: OutreachRules) -> TimerState:
    """An assured case in any zone, opened at an aimed or random moment; its calls and
    warnings so far are any prefix of the cadence (the sweep may have acted or not)."""
    zone = draw(zones)
    state = assured_state(draw(openings(zone, rules)), zone)
    rounds = draw(st.integers(0, len(call_times(state, rules))))
    warnings = draw(st.integers(0, len(rules.warn_hours_left)))
    return replace(
        state,
        outreach_started=rounds > 0 or draw(st.booleans()),
        call_rounds=rounds,
        deadline_warnings=warnings,
    )


@st.composite
def remediation_states(draw, rules: OutreachRules) -> TimerState:
    """A case in remediation: the seller last active at ``base``, and no warning, a warning
    from before that activity, or one at, just around or after it (the same instant
    included: the sweep warned as the seller acted)."""
    zone = draw(zones)
    started = draw(random_moments)
    base = started + draw(st.sampled_from([dt.timedelta(0), US, HOUR, 3 * DAY]))
    warn = dt.timedelta(days=rules.inactivity_warn_days)
    warned = draw(
        st.none()
        | nudged(base)
        | nudged(base - warn)
        | nudged(base + warn)
        | st.timedeltas(-60 * DAY, 60 * DAY).map(lambda d: base + d)
    )
    return assured_state(
        started - DAY,
        zone,
        status=IN_REMEDIATION,
        outreach_started=True,
        call_rounds=1,
        remediation_started_at=started,
        last_seller_activity_at=base if base != started or draw(st.booleans()) else None,
        inactivity_warned_at=warned,
    )


@st.composite
def moments_for(draw, state: TimerState, rules: OutreachRules) -> dt.datetime:
    """A moment to ask the rules about ``state``: mostly an edge of its rules, exactly or
    1 µs either side; otherwise any moment of its life, or after it."""
    if draw(st.integers(0, 3)):
        return draw(near(edges_of(state, rules)))
    span = 40 * DAY if state.status == IN_REMEDIATION else 2 * DEADLINE
    start = state.last_seller_activity_at or state.opened_at
    return start + draw(st.timedeltas(dt.timedelta(0), span))


@st.composite
def cases_and_moments(draw) -> tuple[TimerState, dt.datetime, OutreachRules]:
    """(state, now, rules): an assured case or one in remediation, at a moment near its edges."""
    chosen = draw(rules)
    state = draw(outreach_states(chosen) | remediation_states(chosen))
    return state, draw(moments_for(state, chosen)), chosen


@st.composite
def remediation_cases(draw) -> tuple[TimerState, dt.datetime, OutreachRules]:
    """(state, now, rules) for a case in remediation, at a moment near its edges."""
    chosen = draw(rules)
    state = draw(remediation_states(chosen))
    return state, draw(moments_for(state, chosen)), chosen
