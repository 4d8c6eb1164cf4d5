"""Reads of cases shared by the desk, the API and the portal."""

import datetime as dt

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from cases.models import Case
from notifications.models import ContactAttempt


def cases_visible_to(user) -> QuerySet[Case]:
    """Desk users and upstream systems see every case; a seller's logins only their own."""
    cases = Case.objects.select_related("seller__store", "assigned_to")
    if user.has_perm("accounts.use_desk") or user.has_perm("cases.open_case"):
        return cases
    if user.has_perm("accounts.use_portal"):
        return cases.filter(seller__users=user)
    return cases.none()


def case_queue(
    *,
    cases: QuerySet[Case] | None = None,
    user=None,
    status: list[str] | None = None,
    store: str | None = None,
    severity: str | None = None,
    policy_area: str | None = None,
    overdue: bool | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Case]:
    """Open cases (or those of ``status``), most urgent deadline first, no deadline last.

    ``cases`` is what the reader may see (``cases_visible_to``); ``user`` narrows to one
    specialist's queue.
    """
    now = now or timezone.now()
    if cases is None:
        cases = Case.objects.select_related("seller__store", "assigned_to")
    status = status or list(Case.OPEN_STATUSES)
    if set(status) != set(Case.Status.values):
        cases = cases.filter(status__in=status)
    if user is not None:
        cases = cases.filter(assigned_to=user)
    if store:
        cases = cases.filter(seller__store__code=store)
    if severity:
        cases = cases.filter(severity=severity)
    if policy_area:
        cases = cases.filter(policy_area=policy_area)
    if overdue is True:
        cases = cases.filter(reach_deadline__lt=now, status=Case.Status.OPENED)
    elif overdue is False:
        cases = cases.exclude(reach_deadline__lt=now, status=Case.Status.OPENED)
    return cases.order_by(F("reach_deadline").asc(nulls_last=True), "opened_at", "pk")


def seller_cases(seller) -> QuerySet[Case]:
    """A seller's cases, newest first, with their plans and how we reached out (the portal)."""
    # What we sent the seller, oldest first; the desk's deadline warnings are internal.
    to_seller = ContactAttempt.objects.exclude(
        purpose=ContactAttempt.Purpose.DEADLINE_WARNING
    ).order_by("created_at", "pk")
    return (
        Case.objects.filter(seller=seller)
        .prefetch_related("steps", Prefetch("attempts", queryset=to_seller, to_attr="to_seller"))
        .order_by("-opened_at", "-pk")
    )
