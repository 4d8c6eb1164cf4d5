"""Account-health cases: proactive outreach when a seller's rating leaves Healthy (issue 15,
docs/domain.md "Account health").

The sellers app evaluates ratings and, inside the evaluation's transaction, sends
``sellers.signals.health_evaluated`` with two temporary tables (the sellers evaluated and
those whose band moved). This module answers it, set-based, so a marketplace-wide drop of
50,000 sellers is a handful of statements:

- **open**: a seller who moved from Healthy (or had no value) into At Risk or Unhealthy,
  and has no open account-health case, gets one: no 72-hour promise, its first call due
  within ``HEALTH_FIRST_ATTEMPT_BUSINESS_DAYS`` business days, assigned by the usual
  routing (on duty, serving the store, fewest open cases), its portal notification
  posted, and its outreach left to the sweep (``next_action_at`` = now);
- **raise**: a drop into Unhealthy while one is open makes it critical and warns the
  specialist;
- **recover**: an open one closes by itself once the rating has been Healthy
  ``HEALTH_RECOVERY_DAYS`` days in a row. The ``recover`` transition is applied to all of
  them in one conditional statement that reads its sources and target from the model's
  django-fsm definition, with every audit event written in the same transaction (the one
  batch exception docs/domain.md allows).

A critical-policy case is another matter with its own promise; the two never touch.
"""

from __future__ import annotations

import datetime as dt
import heapq
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from cases.messages import email_for
from cases.models import Case, CaseEvent
from cases.tasks import sweep_due_cases
from config.tasks import enqueue_on_commit
from notifications.models import ContactAttempt
from notifications.services import attempt_create
from sellers import staging
from sellers.assurance import AT_RISK, HEALTHY, UNHEALTHY
from sellers.models import AssuranceState, SellerNotification, Severity, Store
from sellers.services.notices import notifications_post_set
from sellers.tasks import send_notification_emails
from staff.selectors import specialists_on_duty

PROCESS = "account health"
CASE = Case._meta.db_table
EVENT = CaseEvent._meta.db_table
STATE = AssuranceState._meta.db_table
OPENING = "aha_health_opening"
RECOVERED = "aha_health_recovered"
OPEN = tuple(str(status) for status in Case.OPEN_STATUSES)
KIND = str(Case.Kind.ACCOUNT_HEALTH)
SEVERITY = {AT_RISK: Severity.HIGH, UNHEALTHY: Severity.CRITICAL}
BAND_LABELS = {HEALTHY: "Healthy", AT_RISK: "At Risk", UNHEALTHY: "Unhealthy"}


def on_health_evaluated(
    sender, *, day: dt.date, affected: str, band_changes: str, **kwargs
) -> None:
    """The receiver of ``health_evaluated`` (connected in ``cases.apps``)."""
    now = timezone.now()
    opened = account_health_cases_open(band_changes=band_changes, now=now)
    account_health_cases_raise(band_changes=band_changes, now=now)
    account_health_cases_recover(affected=affected, day=day, now=now)
    if opened:
        # One sweep takes them all, in batches; beat's sweep would too, within a minute.
        enqueue_on_commit(sweep_due_cases)


def _in_open(column: str) -> str:
    return f"{column} IN ({', '.join(repr(status) for status in OPEN)})"


def business_days_after(moment: dt.datetime, time_zone: str, days: int) -> dt.datetime:
    """The same local time ``days`` business days (Monday to Friday) after ``moment``;
    a moment on a weekend counts from the Monday's start."""
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    if local.weekday() >= 5:
        monday = local.date() + dt.timedelta(days=7 - local.weekday())
        local = dt.datetime.combine(monday, dt.time(0), tzinfo=zone)
    day = local.date()
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return dt.datetime.combine(day, local.time(), tzinfo=zone).astimezone(dt.UTC)


def account_health_cases_open(*, band_changes: str, now: dt.datetime) -> int:
    """Opens one account-health case for each seller who left Healthy; returns how many."""
    candidates = staging.fetchall(
        f"""SELECT c.seller_id, s.store_id, c.to_band, c.score FROM {band_changes} c
            JOIN sellers_seller s ON s.id = c.seller_id
            WHERE c.to_band IN (%(at_risk)s, %(unhealthy)s) AND c.from_band IN ('', %(healthy)s)
              AND NOT EXISTS (SELECT 1 FROM {CASE} k WHERE k.seller_id = c.seller_id
                              AND k.kind = %(kind)s AND {_in_open("k.status")})
            ORDER BY c.seller_id""",
        {"at_risk": AT_RISK, "unhealthy": UNHEALTHY, "healthy": HEALTHY, "kind": KIND},
    )
    if not candidates:
        return 0
    stores = Store.objects.in_bulk({store_id for _, store_id, _, _ in candidates})
    picks = {store_id: _Routing(store) for store_id, store in stores.items()}
    due = {
        store_id: business_days_after(
            now, store.time_zone, settings.AHA["HEALTH_FIRST_ATTEMPT_BUSINESS_DAYS"]
        )
        for store_id, store in stores.items()
    }
    rows = (
        (
            seller_id,
            picks[store_id].next(),
            staging.db_datetime(due[store_id]),
            str(SEVERITY[to_band]),
            f"Account Health Rating fell to {score} ({BAND_LABELS[to_band]}).",
        )
        for seller_id, store_id, to_band, score in candidates
    )
    timestamp = "timestamptz" if connection.vendor == "postgresql" else "timestamp"
    columns = (
        f"seller_id bigint PRIMARY KEY, assigned_to_id bigint, due {timestamp}, "
        "severity varchar(16), summary varchar(300)"
    )
    with staging.temp_table(OPENING, columns):
        staging.fill(OPENING, ["seller_id", "assigned_to_id", "due", "severity", "summary"], rows)
        params = {"now": staging.db_datetime(now), "kind": KIND, "process": PROCESS}
        # The policy area of the open violation that costs the most points leads the case.
        opened = staging.execute(
            f"""INSERT INTO {CASE} (seller_id, kind, policy_area, severity, summary, evidence,
                    assured, assigned_to_id, status, opened_at, first_attempt_due,
                    resolution_reason, escalation_reason, escalation_note, next_action_at,
                    call_rounds, deadline_warnings, updated_at)
                SELECT o.seller_id, %(kind)s,
                    COALESCE((SELECT v.policy_area FROM sellers_violation v
                              WHERE v.seller_id = o.seller_id AND v.status = 'open'
                              ORDER BY v.points DESC, v.opened_on DESC, v.id LIMIT 1),
                             'other_policy'),
                    o.severity, o.summary, '', FALSE, o.assigned_to_id, 'opened', %(now)s,
                    o.due, '', '', '', %(now)s, 0, 0, %(now)s
                FROM {OPENING} o WHERE TRUE
                ON CONFLICT DO NOTHING""",
            params,
        )
        # The cases this statement opened (not one opened meanwhile by another evaluation).
        mine = f"""FROM {CASE} k JOIN {OPENING} o ON o.seller_id = k.seller_id
                   {{join}}
                   WHERE k.kind = %(kind)s AND k.status = 'opened' AND k.opened_at = %(now)s"""
        staging.execute(
            f"""INSERT INTO {EVENT} (case_id, kind, transition, from_status, to_status,
                    actor_process, reason, created_at)
                SELECT k.id, 'opened', '', '', 'opened', %(process)s,
                    'The Account Health Rating left Healthy: reach the seller within '
                    || %(days)s || ' business day(s); no 72-hour guarantee.', %(now)s
                {mine.format(join="")}""",
            {**params, "days": str(settings.AHA["HEALTH_FIRST_ATTEMPT_BUSINESS_DAYS"])},
        )
        staging.execute(
            f"""INSERT INTO {EVENT} (case_id, kind, transition, from_status, to_status,
                    actor_process, reason, created_at)
                SELECT k.id, 'assignment', '', '', '', 'assignment',
                    'Assigned to ' || u.username || ' (on duty, least load).', %(now)s
                {mine.format(join=f"JOIN {User._meta.db_table} u ON u.id = k.assigned_to_id")}""",
            params,
        )
        _post_opened_notifications(mine, params, now=now)
    return opened


class _Routing:
    """The specialists on duty for one store, the one with the fewest open cases first
    (ties by the oldest specialist): ``cases.services.specialist_pick``, for many at once."""

    def __init__(self, store: Store) -> None:
        open_cases = Count(
            "user__assigned_cases", filter=Q(user__assigned_cases__status__in=Case.OPEN_STATUSES)
        )
        self.heap = [
            (workload, pk, user_id)
            for pk, user_id, workload in specialists_on_duty(store=store)
            .annotate(workload=open_cases)
            .values_list("pk", "user_id", "workload")
        ]
        heapq.heapify(self.heap)

    def next(self) -> int | None:
        if not self.heap:
            return None
        workload, pk, user_id = self.heap[0]
        heapq.heapreplace(self.heap, (workload + 1, pk, user_id))
        return user_id


_SELLER_AND_STORE = (
    "JOIN sellers_seller s ON s.id = k.seller_id JOIN sellers_store st ON st.id = s.store_id"
)


def _post_opened_notifications(mine: str, params: dict, *, now: dt.datetime) -> None:
    mine = mine.format(join=_SELLER_AND_STORE)
    languages = [
        language
        for (language,) in staging.fetchall(
            f"SELECT DISTINCT st.language {mine}",
            params,
        )
    ]
    for language in languages:
        title, body = opened_text(language=language)
        notifications_post_set(
            rows=f"{mine} AND st.language = %(language)s",
            kind=SellerNotification.Kind.ACCOUNT_HEALTH,
            title="%(title)s",
            body="%(body)s",
            dedupe="'case:' || CAST(k.id AS varchar(20)) || ':opened'",
            now=now,
            params={**params, "title": title, "body": body, "language": language},
        )


def opened_text(*, language: str) -> tuple[str, str]:
    with translation.override(language):
        return (
            gettext("An Account Health Specialist will contact you"),
            gettext(
                "Your Account Health Rating left the Healthy band, so we opened an account "
                "health case for you. A specialist will email you now and call you during "
                "your daytime to go through the violations that cost the most points. You "
                "can also press Call Me Now to talk sooner."
            ),
        )


def recovered_text(*, language: str, days: int) -> tuple[str, str]:
    with translation.override(language):
        return (
            gettext("Your account health case is closed: your rating is Healthy again"),
            gettext(
                "Your Account Health Rating has been Healthy for %(days)s days in a row, so "
                "we closed your account health case. Keep your violations fixed to stay there."
            )
            % {"days": days},
        )


def account_health_cases_raise(*, band_changes: str, now: dt.datetime) -> int:
    """A drop into Unhealthy while an account-health case is open: the case becomes
    critical, the audit trail says why, and its specialist is warned by email."""
    ids = [
        case_id
        for (case_id,) in staging.fetchall(
            f"""SELECT k.id FROM {band_changes} c JOIN {CASE} k ON k.seller_id = c.seller_id
                WHERE c.to_band = %(unhealthy)s AND k.kind = %(kind)s AND {_in_open("k.status")}
                  AND k.opened_at < %(now)s""",
            {"unhealthy": UNHEALTHY, "kind": KIND, "now": staging.db_datetime(now)},
        )
    ]
    for case in (
        Case.objects.select_for_update(of=("self",))
        .select_related("seller__store", "seller__assurance", "assigned_to")
        .filter(pk__in=ids)
    ):
        before = case.get_severity_display()
        Case.objects.filter(pk=case.pk).update(severity=Severity.CRITICAL, updated_at=now)
        case.severity = Severity.CRITICAL
        score = case.seller.assurance.latest_score
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.WARNING,
            actor_process=PROCESS,
            reason=(
                f"The Account Health Rating fell to {score} (Unhealthy): severity raised "
                f"from {before} to Critical; the specialist was warned."
            ),
            created_at=now,
        )
        if case.assigned_to_id and case.assigned_to.email:
            attempt_create(
                subject=case,
                channel=ContactAttempt.Channel.EMAIL,
                purpose=Case.AttemptPurpose.HEALTH_WARNING,
                destination=case.assigned_to.email,
                email=email_for(case, Case.AttemptPurpose.HEALTH_WARNING, language="en", at=now),
                now=now,
            )
    return len(ids)


def account_health_cases_recover(*, affected: str, day: dt.date, now: dt.datetime) -> int:
    """Closes, as recovered, every open account-health case of an evaluated seller whose
    rating has been Healthy ``HEALTH_RECOVERY_DAYS`` days in a row by ``day``."""
    days = settings.AHA["HEALTH_RECOVERY_DAYS"]
    transitions = Case.recover._django_fsm.transitions
    sources = [str(source) for source in transitions]
    target = str(next(iter(transitions.values())).target)
    in_sources = f"k.status IN ({', '.join(['%s'] * len(sources))})"
    lock = " FOR UPDATE OF k" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT k.id, k.seller_id FROM {CASE} k
                JOIN {affected} a ON a.seller_id = k.seller_id
                JOIN {STATE} x ON x.seller_id = k.seller_id
                WHERE k.kind = %s AND {in_sources} AND x.band = %s AND x.band_since <= %s{lock}""",
            [KIND, *sources, HEALTHY, day - dt.timedelta(days=days - 1)],
        )
        recovered = cursor.fetchall()
    if not recovered:
        return 0
    reason = (
        f"The Account Health Rating has been Healthy for {days} days in a row: closed as recovered."
    )
    with staging.temp_table(RECOVERED, "case_id bigint PRIMARY KEY, seller_id bigint"):
        staging.fill(RECOVERED, ["case_id", "seller_id"], recovered)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {EVENT} (case_id, kind, transition, from_status, to_status,
                        actor_process, reason, created_at)
                    SELECT k.id, 'transition', 'recover', k.status, %s, %s, %s, %s
                    FROM {CASE} k JOIN {RECOVERED} r ON r.case_id = k.id
                    WHERE {in_sources}""",
                [target, PROCESS, reason, staging.db_datetime(now), *sources],
            )
            cursor.execute(
                f"""UPDATE {CASE} SET status = %s, resolved_at = %s, resolution_reason = %s,
                        next_action_at = NULL, updated_at = %s
                    WHERE id IN (SELECT case_id FROM {RECOVERED}) AND status IN
                        ({", ".join(["%s"] * len(sources))})""",
                [target, staging.db_datetime(now), reason, staging.db_datetime(now), *sources],
            )
        _post_recovered_notifications(now=now, days=days)
    return len(recovered)


def _post_recovered_notifications(*, now: dt.datetime, days: int) -> None:
    join = f"""FROM {RECOVERED} r JOIN sellers_seller s ON s.id = r.seller_id
               JOIN sellers_store st ON st.id = s.store_id"""
    languages = [
        language for (language,) in staging.fetchall(f"SELECT DISTINCT st.language {join}")
    ]
    for language in languages:
        title, body = recovered_text(language=language, days=days)
        notifications_post_set(
            rows=f"{join} WHERE st.language = %(language)s",
            kind=SellerNotification.Kind.ACCOUNT_HEALTH,
            title="%(title)s",
            body="%(body)s",
            dedupe="'case:' || CAST(r.case_id AS varchar(20)) || ':recovered'",
            now=now,
            email=True,
            params={"title": title, "body": body, "language": language},
        )
    enqueue_on_commit(send_notification_emails)
