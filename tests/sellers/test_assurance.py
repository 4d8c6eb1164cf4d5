"""The pure eligibility rules (sellers/assurance.py): windows, bands, reasons, the path."""

import dataclasses
import datetime as dt

import pytest
from django.db import connection

from sellers.assurance import (
    AT_RISK,
    HEALTHY,
    UNHEALTHY,
    Facts,
    Rules,
    assess,
    band,
    band_sql,
)

D = dt.date


@pytest.fixture
def rules() -> Rules:
    return Rules.current()


def facts(**changes) -> Facts:
    """A seller who meets every rule on 15 Sep 2024 (window from 15 Mar 2024)."""
    low_days = changes.pop("low_days", [])
    base = Facts(
        day=D(2024, 9, 15),
        professional=True,
        store_code="US",
        store_enabled=True,
        contact_problem=None,
        first_snapshot_on=D(2024, 1, 1),
        latest_score=600,
        days_below=len(low_days),
        low_days=low_days,
    )
    return dataclasses.replace(base, **changes)


def ten_low_days_in_june() -> list[dt.date]:
    return [D(2024, 6, day) for day in range(1, 11)]


# --- rules from settings --------------------------------------------------------------


def test_rules_come_from_settings_when_read(settings):
    assert Rules.current() == Rules(
        threshold=250,
        max_days_below=10,
        window_months=6,
        warn_at_days_below=8,
        contact_grace_days=7,
    )
    settings.AHA = {**settings.AHA, "AHR_THRESHOLD": 300, "WINDOW_MONTHS": 3}
    changed = Rules.current()
    assert (changed.threshold, changed.window_months) == (300, 3)
    assert changed.key != Rules(250, 10, 6, 8, 7).key


# --- the window -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "window_start"),
    [
        (D(2024, 9, 15), D(2024, 3, 15)),
        # Six months before 31 Aug is the end of February, 29th in a leap year.
        (D(2024, 8, 31), D(2024, 2, 29)),
        (D(2024, 8, 30), D(2024, 2, 29)),
        (D(2024, 8, 29), D(2024, 2, 29)),
        (D(2024, 8, 28), D(2024, 2, 28)),
        (D(2025, 8, 31), D(2025, 2, 28)),
        (D(2025, 8, 29), D(2025, 2, 28)),
        (D(2028, 8, 31), D(2028, 2, 29)),
        # A leap day's own window, and the day after it.
        (D(2024, 2, 29), D(2023, 8, 29)),
        (D(2024, 3, 1), D(2023, 9, 1)),
        (D(2024, 3, 31), D(2023, 9, 30)),
        (D(2024, 1, 31), D(2023, 7, 31)),
        (D(2024, 12, 31), D(2024, 6, 30)),
    ],
)
def test_window_starts_six_calendar_months_back_clamped_at_month_ends(rules, day, window_start):
    assert rules.window_start(day) == window_start


@pytest.mark.parametrize(
    ("target", "first_day"),
    [
        (D(2024, 3, 15), D(2024, 9, 15)),
        # No day's window starts on 29-31 Aug 2023: 29 Feb 2024 starts on the 29th...
        (D(2023, 8, 29), D(2024, 2, 29)),
        # ...so for the 30th and 31st the first is 1 March, whose window starts 1 Sep.
        (D(2023, 8, 30), D(2024, 3, 1)),
        (D(2023, 8, 31), D(2024, 3, 1)),
        (D(2024, 8, 31), D(2025, 3, 1)),
        (D(2024, 2, 29), D(2024, 8, 29)),
        (D(2024, 3, 31), D(2024, 10, 1)),
        (D(2027, 8, 29), D(2028, 2, 29)),
        (D(2027, 8, 30), D(2028, 3, 1)),
    ],
)
def test_earliest_day_whose_window_starts_on_or_after_a_date(rules, target, first_day):
    assert rules.earliest_day_with_window_start_at_least(target) == first_day
    assert rules.window_start(first_day) >= target
    assert rules.window_start(first_day - dt.timedelta(days=1)) < target


# --- bands ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, UNHEALTHY),
        (99, UNHEALTHY),
        (100, AT_RISK),
        (199, AT_RISK),
        (200, HEALTHY),
        (249, HEALTHY),
        (1000, HEALTHY),
        (None, None),
    ],
)
def test_bands_are_unhealthy_below_100_at_risk_below_200_healthy_from_200(score, expected):
    assert band(score) == expected


@pytest.mark.django_db
def test_the_sql_band_is_the_python_band_at_every_edge():
    scores = [None, 0, 99, 100, 199, 200, 249, 1000]
    values = " UNION ALL ".join(f"SELECT {s if s is not None else 'NULL'} AS score" for s in scores)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT score, {band_sql('v.score')} FROM ({values}) v")
        got = dict(cursor.fetchall())
    assert got == {score: band(score) or "" for score in scores}


# --- eligibility and its reasons ------------------------------------------------------


def test_seller_meeting_every_rule_is_eligible_today(rules):
    assessment = assess(facts(), rules)
    assert assessment.eligible
    assert assessment.reasons == []
    assert (assessment.window_start, assessment.window_end) == (D(2024, 3, 15), D(2024, 9, 15))
    assert assessment.history_days_needed == 0
    assert assessment.earliest_enrollment_date == D(2024, 9, 15)


def test_individual_account_is_told_the_programme_is_for_professional_accounts(rules):
    assessment = assess(facts(professional=False), rules)
    assert not assessment.eligible
    assert assessment.reasons == [
        (
            "Account Health Assurance is for professional selling accounts; yours is an "
            "individual account."
        )
    ]
    assert assessment.earliest_enrollment_date is None


def test_store_without_aha_is_named_in_the_reason(rules):
    assessment = assess(facts(store_code="DE", store_enabled=False), rules)
    assert assessment.reasons == [
        "Account Health Assurance is not yet available in your store (DE)."
    ]
    assert assessment.earliest_enrollment_date is None


def test_seller_without_any_rating_is_told_so(rules):
    assessment = assess(facts(first_snapshot_on=None, latest_score=None), rules)
    assert assessment.reasons == [
        "We have not received any Account Health Rating for your account yet."
    ]
    assert assessment.history_days_needed == 0
    assert assessment.earliest_enrollment_date is None


def test_short_history_says_from_when_and_how_many_more_days(rules):
    assessment = assess(facts(first_snapshot_on=D(2024, 6, 1)), rules)
    assert assessment.reasons == [
        (
            "We need 6 months of Account Health Rating history; yours starts on 01 Jun 2024, "
            "so 77 more days are needed."
        )
    ]
    assert assessment.history_days_needed == 77
    assert assessment.earliest_enrollment_date == D(2024, 12, 1)


def test_history_one_day_short_is_worded_in_the_singular(rules):
    # 29 Feb 2024's window starts 29 Aug 2023; a history from 31 Aug is ready on 1 March.
    assessment = assess(facts(day=D(2024, 2, 29), first_snapshot_on=D(2023, 8, 31)), rules)
    assert assessment.reasons == [
        (
            "We need 6 months of Account Health Rating history; yours starts on 31 Aug 2023, "
            "so 1 more day is needed."
        )
    ]
    assert assessment.history_days_needed == 1
    assert assessment.earliest_enrollment_date == D(2024, 3, 1)


def test_history_starting_on_the_window_start_is_enough(rules):
    assessment = assess(facts(day=D(2024, 8, 31), first_snapshot_on=D(2024, 2, 29)), rules)
    assert assessment.eligible
    assert assessment.history_days_needed == 0


def test_too_many_days_below_says_how_many_of_how_many_allowed(rules):
    low_days = [D(2024, 5, 31), *ten_low_days_in_june()]
    assessment = assess(facts(low_days=low_days), rules)
    assert assessment.reasons == [
        (
            "Your Account Health Rating was below 250 on 11 days in the last 6 months; "
            "at most 10 are allowed."
        )
    ]
    assert (assessment.days_below_threshold, assessment.days_below_allowed) == (11, 10)


def test_ten_days_below_are_still_allowed(rules):
    assessment = assess(facts(low_days=ten_low_days_in_june()), rules)
    assert assessment.eligible


def test_current_rating_below_threshold_is_named_with_its_value(rules):
    assessment = assess(facts(latest_score=249, low_days=[D(2024, 9, 15)]), rules)
    assert assessment.reasons == ["Your current Account Health Rating (249) is below 250."]
    assert assess(facts(latest_score=250), rules).eligible


def test_contact_problem_is_passed_on_in_the_sellers_words(rules):
    problem = "Your emergency contact number has not been verified with a code yet."
    assessment = assess(facts(contact_problem=problem), rules)
    assert assessment.reasons == [problem]
    assert assessment.earliest_enrollment_date is None


def test_every_unmet_rule_is_listed(rules):
    assessment = assess(
        facts(
            professional=False,
            store_code="DE",
            store_enabled=False,
            first_snapshot_on=D(2024, 6, 1),
            latest_score=100,
            low_days=[*ten_low_days_in_june(), D(2024, 9, 15)],
            contact_problem="No emergency contact number is on file.",
        ),
        rules,
    )
    assert len(assessment.reasons) == 6
    assert assessment.reasons[-1] == "No emergency contact number is on file."


# --- the earliest enrollment date -----------------------------------------------------


def test_rating_below_threshold_today_can_enroll_tomorrow_at_the_earliest(rules):
    assessment = assess(facts(latest_score=10, low_days=[D(2024, 9, 15)]), rules)
    assert assessment.earliest_enrollment_date == D(2024, 9, 16)


def test_too_many_days_below_waits_until_the_excess_oldest_leave_the_window(rules):
    # Twelve bad days, two too many: the window must start after the second oldest,
    # 31 Mar. No window starts on 31 Mar; 1 Oct's starts on 1 Apr.
    low_days = [D(2024, 3, 20), D(2024, 3, 31), *ten_low_days_in_june()]
    assessment = assess(facts(low_days=low_days), rules)
    assert not assessment.eligible
    assert assessment.earliest_enrollment_date == D(2024, 10, 1)
    # On that day those two are out and the ten of June remain: eligible.
    assert rules.window_start(D(2024, 10, 1)) == D(2024, 4, 1)


def test_too_many_days_below_across_a_leap_february(rules):
    # Day 31 Aug 2024, window from 29 Feb. Eleven bad days, the oldest on 29 Feb: it
    # leaves the window on 1 Sep, whose window starts on 1 Mar.
    low_days = [D(2024, 2, 29), *ten_low_days_in_june()]
    assessment = assess(facts(day=D(2024, 8, 31), low_days=low_days), rules)
    assert assessment.earliest_enrollment_date == D(2024, 9, 1)


def test_short_history_and_too_many_days_below_wait_for_the_later_of_both(rules):
    low_days = [*ten_low_days_in_june(), D(2024, 7, 1)]
    assessment = assess(facts(first_snapshot_on=D(2024, 5, 15), low_days=low_days), rules)
    # History is ready on 15 Nov; the oldest bad day, 1 Jun, leaves the window on 2 Dec.
    assert assessment.history_days_needed == 61
    assert assessment.earliest_enrollment_date == D(2024, 12, 2)


# The edge the mutation run found open (make mutation): exactly the allowed days below.
def test_exactly_the_allowed_days_below_do_not_delay_the_earliest_enrollment():
    rules = Rules(
        threshold=250,
        max_days_below=10,
        window_months=6,
        warn_at_days_below=8,
        contact_grace_days=7,
    )
    day = dt.date(2024, 9, 15)
    low_days = [dt.date(2024, 6, d) for d in range(1, 11)]
    facts = Facts(
        day=day,
        professional=True,
        store_code="US",
        store_enabled=True,
        contact_problem=None,
        first_snapshot_on=dt.date(2024, 1, 1),
        latest_score=600,
        days_below=len(low_days),
        low_days=low_days,
    )

    assessment = assess(facts, rules)
    assert assessment.eligible
    assert assessment.earliest_enrollment_date == day
    # One more day below: enrollment waits until the oldest leaves the window.
    more = [dt.date(2024, 5, 31), *low_days]
    later = assess(dataclasses.replace(facts, low_days=more, days_below=11), rules)
    assert not later.eligible
    assert later.earliest_enrollment_date == dt.date(2024, 12, 1)
