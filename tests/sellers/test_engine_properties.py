"""The incremental engine and the pure rules against a direct, obviously correct computation.

Every check recomputes the rules from a plain ``{date: score}`` dict of what is stored:
the window ``[D - WINDOW_MONTHS months, D]`` (dateutil), the days in it below the
threshold, the first value, the latest value on or before D, and eligibility. Histories
are random: start dates around month ends and 29 February, gaps, scores close to the
threshold; evaluation days move one day at a time, by jumps longer than the window, and
sometimes back.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from dateutil.relativedelta import relativedelta
from django.conf import settings as django_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sellers.assurance import Rules, assess
from sellers.models import AssuranceState, EnrollmentEvent
from sellers.selectors import seller_facts
from sellers.services import ahr_ingest, assurance_evaluate
from sellers.services.feed import DEFAULT_CHUNK
from tests.factories import EmergencyContactFactory, SellerFactory

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_feed_horizon(settings):
    """Histories here span years and are fed under one day: the feed's horizon
    (AHR_MAX_AGE_DAYS, tested in tests/sellers/test_bad_input.py) is not the point."""
    settings.AHA = {**settings.AHA, "AHR_MAX_AGE_DAYS": 100 * 366}


# Starts whose windows cross the month ends where calendar months clamp: 31 Aug → 28/29 Feb,
# 29 Feb of leap years, 31 Mar → 30 Sep, year ends.
AWKWARD_STARTS = [
    dt.date(2023, 8, 31),
    dt.date(2023, 8, 29),
    dt.date(2024, 2, 29),
    dt.date(2024, 3, 31),
    dt.date(2024, 8, 31),
    dt.date(2024, 12, 31),
    dt.date(2025, 2, 28),
    dt.date(2027, 8, 30),
    dt.date(2028, 2, 29),
    dt.date(2028, 1, 31),
]


def property_settings(examples: int) -> settings:
    """Few examples, each a whole story in the database; no deadline for SQL."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


# --- the direct computation -----------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    window_start: dt.date
    days_below: int
    first: dt.date | None
    latest: int | None
    eligible: bool


def expected(history: dict[dt.date, int], day: dt.date) -> Expected:
    """The rules of docs/domain.md, computed the slow and plain way (contact, account, store ok)."""
    aha = django_settings.AHA
    start = day - relativedelta(months=aha["WINDOW_MONTHS"])
    days_below = sum(
        1
        for date, score in history.items()
        if start <= date <= day and score < aha["AHR_THRESHOLD"]
    )
    first = min(history) if history else None
    up_to_day = [date for date in history if date <= day]
    latest = history[max(up_to_day)] if up_to_day else None
    eligible = (
        first is not None
        and first <= start
        and days_below <= aha["MAX_DAYS_BELOW_THRESHOLD"]
        and latest is not None
        and latest >= aha["AHR_THRESHOLD"]
    )
    return Expected(start, days_below, first, latest, eligible)


def first_day_with_full_history(first: dt.date) -> dt.date:
    """The first day whose window starts on or after ``first``, by walking day by day."""
    day = first
    while day - relativedelta(months=django_settings.AHA["WINDOW_MONTHS"]) < first:
        day += ONE_DAY
    return day


# --- strategies -----------------------------------------------------------------------

bad_scores = st.one_of(st.sampled_from([249, 248, 200, 199, 100, 99, 0]), st.integers(235, 249))
good_scores = st.one_of(st.sampled_from([250, 251, 252, 1000]), st.integers(250, 265))
start_dates = st.one_of(
    st.sampled_from(AWKWARD_STARTS), st.dates(dt.date(2022, 1, 1), dt.date(2030, 12, 31))
)


@st.composite
def histories(draw, *, start: dt.date | None = None, max_days: int = 230):
    """Daily values from a start date, with gaps; the share of bad days differs per history."""
    day = start if start is not None else draw(start_dates)
    bad_percent = draw(st.sampled_from([0, 2, 4, 6, 10, 30, 60]))
    gap_percent = draw(st.sampled_from([0, 3, 15]))
    history: dict[dt.date, int] = {}
    for _ in range(draw(st.integers(1, max_days))):
        bad = draw(st.integers(0, 99)) < bad_percent
        history[day] = draw(bad_scores if bad else good_scores)
        gap = draw(st.integers(1, 40)) if draw(st.integers(0, 99)) < gap_percent else 0
        day += dt.timedelta(days=1 + gap)
    return history


# --- helpers --------------------------------------------------------------------------


def new_seller():
    """A fresh seller per example (examples share one test transaction)."""
    seller = SellerFactory()
    EmergencyContactFactory(seller=seller)
    return seller


def rows(seller, values: dict[dt.date, int]) -> list[dict]:
    return [
        {"seller_id": seller.seller_id, "date": date.isoformat(), "score": score}
        for date, score in sorted(values.items())
    ]


def ingest(
    values_by_seller: list[tuple[object, dict[dt.date, int]]],
    *,
    today: dt.date,
    chunk_size: int = DEFAULT_CHUNK,
) -> None:
    summary = ahr_ingest(
        [row for seller, values in values_by_seller for row in rows(seller, values)],
        today=today,
        chunk_size=chunk_size,
    )
    assert summary.rejected == []


def assert_state_matches(seller, stored: dict[dt.date, int], day: dt.date) -> None:
    state = AssuranceState.objects.get(seller=seller)
    want = expected(stored, day)
    got = (
        state.evaluated_on,
        state.window_start,
        state.days_below_threshold,
        state.first_snapshot_on,
        state.latest_score,
        state.eligible,
        state.enrolled,
    )
    assert got == (
        day,
        want.window_start,
        want.days_below,
        want.first,
        want.latest,
        want.eligible,
        want.eligible,
    ), f"on {day}: engine {got}, direct {want}"
    # Every evaluation acts on what it found: the history ends with the current status...
    last_change = (
        EnrollmentEvent.objects.filter(
            seller=seller, kind__in=[EnrollmentEvent.Kind.ENROLLED, EnrollmentEvent.Kind.REMOVED]
        )
        .values_list("kind", flat=True)
        .first()
    )
    if state.enrolled:
        assert last_change == EnrollmentEvent.Kind.ENROLLED
    else:
        assert last_change in (None, EnrollmentEvent.Kind.REMOVED)
    # ...and an enrolled seller with most of the allowed days used has been warned.
    if state.enrolled and state.days_below_threshold >= django_settings.AHA["WARN_AT_DAYS_BELOW"]:
        assert state.warned_days_below_on is not None
    # `pytest --hypothesis-show-statistics` shows how often the interesting cases came up.
    event("eligible" if want.eligible else "not eligible")
    if want.first is not None and want.first <= want.window_start:
        over = want.days_below > django_settings.AHA["MAX_DAYS_BELOW_THRESHOLD"]
        event(f"full history, {'over' if over else 'within'} the days below")


@dataclass
class Track:
    """One seller followed through the test: its whole history and what is stored of it."""

    seller: object
    history: dict[dt.date, int]
    feed_daily: bool  # True: values arrive day by day; False: all stored at the start
    stored: dict[dt.date, int]

    def unfed(self, day: dt.date) -> dict[dt.date, int]:
        return {d: s for d, s in self.history.items() if d <= day and d not in self.stored}


# --- (a) the incremental path ---------------------------------------------------------


@property_settings(20)
@given(data=st.data())
def test_incremental_state_matches_direct_computation_day_after_day(data):
    first_history = data.draw(histories(), label="history of seller 1")
    offset = dt.timedelta(days=data.draw(st.integers(-60, 60), label="offset of seller 2"))
    second_history = data.draw(
        histories(start=min(first_history) + offset, max_days=200), label="history of seller 2"
    )
    tracks = [
        Track(new_seller(), history, data.draw(st.booleans(), label="fed daily"), {})
        for history in (first_history, second_history)
    ]
    begin = min(*first_history, *second_history)
    end = max(*first_history, *second_history) + dt.timedelta(days=200)
    day = begin + dt.timedelta(days=data.draw(st.integers(0, 240), label="first day"))
    # Small chunks: each is evaluated on its own, so later chunks arrive as late values.
    chunk_size = data.draw(st.sampled_from([DEFAULT_CHUNK, DEFAULT_CHUNK, 25, 90]), label="chunk")

    # Start: a daily feed has what arrived up to the first day; the others have it all
    # (stored under a later "today") and are evaluated for the first day from there.
    for track in tracks:
        if track.feed_daily:
            track.stored.update(track.unfed(day))
            if track.stored:
                ingest([(track.seller, track.stored)], today=day, chunk_size=chunk_size)
        else:
            track.stored.update(track.history)
            ingest([(track.seller, track.stored)], today=max(track.history), chunk_size=chunk_size)
            assert_state_matches(track.seller, track.stored, max(track.history))
    assurance_evaluate(day=day, seller_ids=[track.seller.pk for track in tracks])
    for track in tracks:
        assert_state_matches(track.seller, track.stored, day)

    for _ in range(30):
        if day > end:
            break
        step = data.draw(st.sampled_from([1, 1, 1, 1, 2, 3, 6, 13, 29, 62, 200, -5]), label="step")
        day += dt.timedelta(days=step)
        # Both sellers, or one of them: the other stays at an older day and catches up later.
        chosen = data.draw(st.sampled_from([(0, 1), (0, 1), (0,), (1,)]), label="sellers")
        moving = [tracks[index] for index in chosen]
        arrivals = [(track, track.unfed(day)) for track in moving if track.feed_daily]
        arrivals = [(track, values) for track, values in arrivals if values]
        if arrivals:
            ingest(
                [(track.seller, values) for track, values in arrivals],
                today=day,
                chunk_size=chunk_size,
            )
            for track, values in arrivals:
                track.stored.update(values)
                assert_state_matches(track.seller, track.stored, day)
        assurance_evaluate(day=day, seller_ids=[track.seller.pk for track in moving])
        for track in moving:
            assert_state_matches(track.seller, track.stored, day)


# --- (b) corrections and late values --------------------------------------------------


@property_settings(25)
@given(data=st.data())
def test_corrections_and_late_values_keep_the_count_equal_to_a_recount(data):
    history = data.draw(histories(), label="history")
    seller = new_seller()
    day = min(history) + dt.timedelta(days=data.draw(st.integers(0, 260), label="first day"))
    stored = {date: score for date, score in history.items() if date <= day}
    if stored:
        ingest([(seller, stored)], today=day)
    assurance_evaluate(day=day, seller_ids=[seller.pk])
    assert_state_matches(seller, stored, day)

    for _ in range(6):
        if data.draw(st.booleans(), label="correct (else move on)"):
            # Corrections of stored days and values for days without one, mostly inside
            # the current window, some just before it; sometimes the same day twice.
            today = day + dt.timedelta(days=data.draw(st.sampled_from([0, 0, 1, 4, -3])))
            window_start = today - relativedelta(months=django_settings.AHA["WINDOW_MONTHS"])
            lowest = window_start - dt.timedelta(days=5)
            span = (today - lowest).days
            picks = data.draw(
                st.lists(
                    st.tuples(st.integers(0, span), st.one_of(bad_scores, good_scores)),
                    min_size=1,
                    max_size=12,
                ),
                label="corrections",
            )
            batch = [
                {
                    "seller_id": seller.seller_id,
                    "date": (lowest + dt.timedelta(days=offset)).isoformat(),
                    "score": score,
                }
                for offset, score in picks
            ]
            summary = ahr_ingest(batch, today=today)
            # A later row for the same day replaces an earlier one, which is reported.
            assert summary.accepted == len({row["date"] for row in batch})
            for row in batch:
                stored[dt.date.fromisoformat(row["date"])] = row["score"]
            day = today
        else:
            day += dt.timedelta(days=data.draw(st.sampled_from([1, 2, 9, 31, 190])))
            assurance_evaluate(day=day, seller_ids=[seller.pk])
        assert_state_matches(seller, stored, day)


# --- (c) the pure rules on facts read from history, and the earliest enrollment -------


@property_settings(25)
@given(data=st.data())
def test_assessment_and_earliest_enrollment_match_a_simulated_future(data):
    history = data.draw(histories(), label="history")
    day = min(history) + dt.timedelta(days=data.draw(st.integers(-5, 300), label="day"))
    stored = {date: score for date, score in history.items() if date <= day}
    seller = new_seller()
    if stored:
        ingest([(seller, stored)], today=day)
    rules = Rules.current()

    facts = seller_facts(seller, day=day, rules=rules)
    assessment = assess(facts, rules)
    want = expected(stored, day)
    assert (
        assessment.window_start,
        assessment.days_below_threshold,
        facts.first_snapshot_on,
        facts.latest_score,
        assessment.eligible,
    ) == (want.window_start, want.days_below, want.first, want.latest, want.eligible)
    assert assessment.eligible == (not assessment.reasons)
    if not stored:
        assert assessment.earliest_enrollment_date is None
        return
    assert assessment.history_days_needed == max(
        0, (first_day_with_full_history(want.first) - day).days
    )

    # The future if AHR stays at or above the threshold every day from tomorrow.
    future_score = data.draw(st.sampled_from([250, 251, 999]), label="future score")
    future = dict(stored)
    earliest = day
    while not expected(future, earliest).eligible:
        earliest += ONE_DAY
        future[earliest] = future_score
    assert assessment.earliest_enrollment_date == earliest

    # Live it in the database: not eligible the day before, eligible and enrolled that day.
    if earliest > day:
        before = earliest - ONE_DAY
        if before > day:
            ingest([(seller, {d: s for d, s in future.items() if day < d <= before})], today=before)
        assert not assess(seller_facts(seller, day=before, rules=rules), rules).eligible
        assurance_evaluate(day=before, seller_ids=[seller.pk])
        assert not AssuranceState.objects.get(seller=seller).eligible
        ingest([(seller, {earliest: future[earliest]})], today=earliest)
    else:
        assurance_evaluate(day=earliest, seller_ids=[seller.pk])
    assert assess(seller_facts(seller, day=earliest, rules=rules), rules).eligible
    state = AssuranceState.objects.get(seller=seller)
    assert (state.evaluated_on, state.eligible, state.enrolled) == (earliest, True, True)
