"""The AHA eligibility rules as pure functions (docs/domain.md "AHA eligibility and enrollment").

For a day D: ``window_start = D - WINDOW_MONTHS calendar months``; the window is
``[window_start, D]`` inclusive. A seller is eligible on D when the account is
professional, the store has AHA switched on, there is a value dated on or before
``window_start``, at most ``MAX_DAYS_BELOW_THRESHOLD`` days of the window have a value
below ``AHR_THRESHOLD``, the latest value on or before D is at least the threshold,
and the emergency contact is valid. Every number comes from ``settings.AHA``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from dateutil.relativedelta import relativedelta
from django.conf import settings

HEALTHY = "healthy"
AT_RISK = "at_risk"
UNHEALTHY = "unhealthy"
# Band edges (docs/domain.md "Account Health Rating"): the marketplace's, not ours to tune.
HEALTHY_FROM = 200
AT_RISK_FROM = 100


@dataclass(frozen=True)
class Rules:
    threshold: int
    max_days_below: int
    window_months: int
    warn_at_days_below: int
    contact_grace_days: int

    @classmethod
    def current(cls) -> Rules:
        aha = settings.AHA
        return cls(
            threshold=aha["AHR_THRESHOLD"],
            max_days_below=aha["MAX_DAYS_BELOW_THRESHOLD"],
            window_months=aha["WINDOW_MONTHS"],
            warn_at_days_below=aha["WARN_AT_DAYS_BELOW"],
            contact_grace_days=aha["CONTACT_GRACE_DAYS"],
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def key(self) -> str:
        """Identifies the rules an incremental count was made under; a change forces a recount."""
        return f"t{self.threshold}-m{self.window_months}"

    def window_start(self, day: dt.date) -> dt.date:
        return day - relativedelta(months=self.window_months)

    def earliest_day_with_window_start_at_least(self, target: dt.date) -> dt.date:
        """The first day D whose window starts on or after ``target``.

        ``target + N months`` is close, but month ends clamp (31 Aug + 6 months is
        28 Feb, whose window starts 28 Aug), so step forward until it holds.
        """
        day = target + relativedelta(months=self.window_months)
        while self.window_start(day) < target:
            day += dt.timedelta(days=1)
        return day


def band(score: int | None) -> str | None:
    """Healthy 200-1000, At Risk 100-199, Unhealthy 0-99.

    docs/domain.md, "Account Health Rating".
    """
    if score is None:
        return None
    if score >= HEALTHY_FROM:
        return HEALTHY
    if score >= AT_RISK_FROM:
        return AT_RISK
    return UNHEALTHY


def band_sql(column: str) -> str:
    """:func:`band` as a SQL expression of a score column ('' for NULL)."""
    return (
        f"CASE WHEN {column} IS NULL THEN '' WHEN {column} >= {HEALTHY_FROM} THEN '{HEALTHY}' "
        f"WHEN {column} >= {AT_RISK_FROM} THEN '{AT_RISK}' ELSE '{UNHEALTHY}' END"
    )


@dataclass(frozen=True)
class Facts:
    """What the rules look at for one seller on one day."""

    day: dt.date
    professional: bool
    store_code: str
    store_enabled: bool
    contact_problem: str | None  # None when the emergency contact is valid
    first_snapshot_on: dt.date | None
    latest_score: int | None  # latest value on or before ``day``
    days_below: int  # days in the window with a value below the threshold
    low_days: list[dt.date] = field(default_factory=list)  # those days, for the path


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    window_start: dt.date
    window_end: dt.date
    days_below_threshold: int
    days_below_allowed: int
    history_days_needed: int
    earliest_enrollment_date: dt.date | None
    reasons: list[str]


def assess(facts: Facts, rules: Rules) -> Assessment:
    """Eligibility on ``facts.day``, every unmet rule in plain words, and the path to it."""
    day = facts.day
    start = rules.window_start(day)
    reasons: list[str] = []
    if not facts.professional:
        reasons.append(
            "Account Health Assurance is for professional selling accounts; yours is an "
            "individual account."
        )
    if not facts.store_enabled:
        reasons.append(
            f"Account Health Assurance is not yet available in your store ({facts.store_code})."
        )
    history_ready_on: dt.date | None = None
    if facts.first_snapshot_on is None:
        reasons.append("We have not received any Account Health Rating for your account yet.")
    else:
        history_ready_on = rules.earliest_day_with_window_start_at_least(facts.first_snapshot_on)
        if facts.first_snapshot_on > start:
            needed = (history_ready_on - day).days
            reasons.append(
                f"We need {rules.window_months} months of Account Health Rating history; yours "
                f"starts on {facts.first_snapshot_on:%d %b %Y}, so {needed} more "
                f"{'day is' if needed == 1 else 'days are'} needed."
            )
    if facts.days_below > rules.max_days_below:
        reasons.append(
            f"Your Account Health Rating was below {rules.threshold} on {facts.days_below} days "
            f"in the last {rules.window_months} months; at most {rules.max_days_below} are allowed."
        )
    if facts.latest_score is not None and facts.latest_score < rules.threshold:
        reasons.append(
            f"Your current Account Health Rating ({facts.latest_score}) is below {rules.threshold}."
        )
    if facts.contact_problem:
        reasons.append(facts.contact_problem)

    return Assessment(
        eligible=not reasons,
        window_start=start,
        window_end=day,
        days_below_threshold=facts.days_below,
        days_below_allowed=rules.max_days_below,
        history_days_needed=max(0, (history_ready_on - day).days) if history_ready_on else 0,
        earliest_enrollment_date=_earliest_enrollment(facts, rules, history_ready_on),
        reasons=reasons,
    )


def _earliest_enrollment(
    facts: Facts, rules: Rules, history_ready_on: dt.date | None
) -> dt.date | None:
    """The first day the AHR rules can hold if AHR stays at or above the threshold.

    None when something outside AHR blocks it (account type, store, contact, no data):
    no date can be promised then.
    """
    if not facts.professional or not facts.store_enabled or facts.contact_problem:
        return None
    if history_ready_on is None:
        return None
    candidates = [facts.day, history_ready_on]
    if facts.latest_score is None or facts.latest_score < rules.threshold:
        candidates.append(facts.day + dt.timedelta(days=1))
    low_days = sorted(facts.low_days)
    excess = len(low_days) - rules.max_days_below
    if excess > 0:
        # The window must move past the excess oldest bad days.
        last_to_drop = low_days[excess - 1]
        candidates.append(
            rules.earliest_day_with_window_start_at_least(last_to_drop + dt.timedelta(days=1))
        )
    return max(candidates)
