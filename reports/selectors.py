"""SLA aggregates for ``/reports/``, computed in the database.

For now the account-health figures of issue 15 (item 5), which the SLA report of issue
#11 will include: by store and ISO week of opening, for cases opened in a period (UTC
dates, inclusive):

- **opened**: account-health cases opened;
- **first attempt within target**: cases whose first call was made by
  ``first_attempt_due``, out of the *decided* ones (the target has passed, or a first
  attempt was made, in time or not);
- **recovered within 30 days**: cases closed by the ``recover`` transition (the rating
  Healthy again, cases.health) within 30 days of opening, out of the *decided* ones
  (opened at least 30 days ago, or already recovered).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from cases.models import Case, CaseEvent

# "Recovered to Healthy within 30 days" (issue 15): the report's window, not a rule of
# the desk, so it lives with the report.
RECOVERY_WINDOW = dt.timedelta(days=30)
DEFAULT_WEEKS = 8


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 8 ISO weeks: from the Monday seven weeks before this week's, to today."""
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(weeks=DEFAULT_WEEKS - 1), today


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when nothing is decided yet (not 0 %, not 100 %)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class AccountHealthRow:
    store: str
    week: dt.date  # the Monday of the ISO week, UTC
    opened: int
    first_attempt_decided: int
    first_attempt_in_time: int
    recovery_decided: int
    recovered: int

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week.isocalendar()
        return f"{year}-W{week:02}"

    @property
    def first_attempt_share(self) -> float | None:
        return share(self.first_attempt_in_time, self.first_attempt_decided)

    @property
    def recovered_share(self) -> float | None:
        return share(self.recovered, self.recovery_decided)


def _utc_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def account_health_figures(
    *, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> list[AccountHealthRow]:
    """Account-health cases opened from ``start`` to ``end`` (UTC dates, inclusive), by
    store and ISO week, oldest week first: one aggregate query.

    ``now`` decides which targets have passed and which cases are 30 days old.
    """
    now = now or timezone.now()
    recovered_by_rule = Exists(
        CaseEvent.objects.filter(
            case=OuterRef("pk"), kind=CaseEvent.Kind.TRANSITION, transition="recover"
        )
    )
    recovered = (
        Q(status=Case.Status.RESOLVED)
        & Q(recovered_by_rule)
        & Q(resolved_at__lte=F("opened_at") + RECOVERY_WINDOW)
    )
    first_attempt_decided = Q(first_attempt_at__isnull=False) | Q(first_attempt_due__lt=now)
    rows = (
        Case.objects.filter(
            kind=Case.Kind.ACCOUNT_HEALTH,
            opened_at__gte=_utc_start(start),
            opened_at__lt=_utc_start(end + dt.timedelta(days=1)),
        )
        .annotate(week=TruncWeek("opened_at", tzinfo=dt.UTC))
        .values("seller__store__code", "week")
        .annotate(
            opened=Count("pk"),
            first_attempt_decided=Count("pk", filter=first_attempt_decided),
            first_attempt_in_time=Count(
                "pk", filter=Q(first_attempt_at__lte=F("first_attempt_due"))
            ),
            recovery_decided=Count(
                "pk", filter=Q(opened_at__lte=now - RECOVERY_WINDOW) | recovered
            ),
            recovered=Count("pk", filter=recovered),
        )
        .order_by("week", "seller__store__code")
    )
    return [
        AccountHealthRow(
            store=row["seller__store__code"],
            week=_as_date(row["week"]),
            opened=row["opened"],
            first_attempt_decided=row["first_attempt_decided"],
            first_attempt_in_time=row["first_attempt_in_time"],
            recovery_decided=row["recovery_decided"],
            recovered=row["recovered"],
        )
        for row in rows
    ]


def _as_date(week: dt.datetime | dt.date) -> dt.date:
    if isinstance(week, dt.datetime):
        return week.astimezone(dt.UTC).date()
    return week


def account_health_totals(rows: list[AccountHealthRow]) -> AccountHealthRow | None:
    """The period's figures over every store and week (sums of the rows' counts)."""
    if not rows:
        return None
    return AccountHealthRow(
        store="",
        week=rows[0].week,
        opened=sum(row.opened for row in rows),
        first_attempt_decided=sum(row.first_attempt_decided for row in rows),
        first_attempt_in_time=sum(row.first_attempt_in_time for row in rows),
        recovery_decided=sum(row.recovery_decided for row in rows),
        recovered=sum(row.recovered for row in rows),
    )
