"""Reads about sellers that several callers share (API, portal, services)."""

import datetime as dt

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from sellers.assurance import AT_RISK, HEALTHY, UNHEALTHY, Assessment, Facts, Rules, assess, band
from sellers.models import (
    AccountHealthSnapshot,
    AssuranceState,
    EmergencyContact,
    Seller,
    SellerNotification,
    Severity,
    Violation,
)


def contact_problem(seller: Seller) -> str | None:
    try:
        contact = seller.emergency_contact
    except EmergencyContact.DoesNotExist:
        return "No emergency contact number is on file."
    return contact.problem


def seller_facts(seller: Seller, *, day: dt.date, rules: Rules) -> Facts:
    """The facts of the rules for one seller, read straight from the history.

    One seller's window is at most ~184 rows on the ``(seller, date)`` index; the
    incremental engine exists for evaluating every seller at once.
    """
    snapshots = AccountHealthSnapshot.objects.filter(seller=seller)
    start = rules.window_start(day)
    first = snapshots.order_by("date").values_list("date", flat=True).first()
    latest = (
        snapshots.filter(date__lte=day).order_by("-date").values_list("score", flat=True).first()
    )
    low_days = list(
        snapshots.filter(date__gte=start, date__lte=day, score__lt=rules.threshold)
        .order_by("date")
        .values_list("date", flat=True)
    )
    return Facts(
        day=day,
        professional=seller.account_type == Seller.AccountType.PROFESSIONAL,
        store_code=seller.store.code,
        store_enabled=seller.store.aha_enabled,
        contact_problem=contact_problem(seller),
        first_snapshot_on=first,
        latest_score=latest,
        days_below=len(low_days),
        low_days=low_days,
    )


def sellers_facts_from_state(
    seller_ids: list[int], *, day: dt.date, rules: Rules
) -> dict[int, tuple[Seller, Facts]]:
    """The facts of the rules for many sellers at once, from the states the engine has
    just brought to ``day`` (its counts are the history's, kept incrementally): one query
    per 2,000 sellers instead of three per seller."""
    found: dict[int, tuple[Seller, Facts]] = {}
    for start in range(0, len(seller_ids), 2_000):
        sellers = Seller.objects.select_related("store", "emergency_contact", "assurance").filter(
            pk__in=seller_ids[start : start + 2_000]
        )
        for seller in sellers:
            state = seller.assurance
            assert state.evaluated_on == day, "the engine evaluates before the changes apply"
            found[seller.pk] = (
                seller,
                Facts(
                    day=day,
                    professional=seller.account_type == Seller.AccountType.PROFESSIONAL,
                    store_code=seller.store.code,
                    store_enabled=seller.store.aha_enabled,
                    # A verified number the engine found callable has no problem: parsing
                    # 50,000 numbers again would cost seconds.
                    contact_problem=None if state.contact_valid else contact_problem(seller),
                    first_snapshot_on=state.first_snapshot_on,
                    latest_score=state.latest_score,
                    days_below=state.days_below_threshold,
                ),
            )
    return found


def seller_assessment(seller: Seller, *, day: dt.date | None = None) -> tuple[Facts, Assessment]:
    rules = Rules.current()
    facts = seller_facts(seller, day=day or timezone.localdate(), rules=rules)
    return facts, assess(facts, rules)


def seller_assurance(seller: Seller, *, day: dt.date | None = None) -> dict:
    """The seller's programme status and path to eligibility (the assurance endpoint)."""
    facts, assessment = seller_assessment(seller, day=day)
    state = AssuranceState.objects.filter(seller=seller).first()
    return {
        "eligible": assessment.eligible,
        "enrolled": bool(state and state.enrolled),
        "enrolled_since": state.enrolled_since if state else None,
        "ahr": facts.latest_score,
        "band": band(facts.latest_score),
        "window_start": assessment.window_start,
        "window_end": assessment.window_end,
        "days_below_threshold": assessment.days_below_threshold,
        "days_below_allowed": assessment.days_below_allowed,
        "history_days_needed": assessment.history_days_needed,
        "earliest_enrollment_date": assessment.earliest_enrollment_date,
        "reasons": assessment.reasons,
    }


def ahr_series(seller: Seller, *, day: dt.date, rules: Rules) -> list[tuple[dt.date, int]]:
    """The seller's values in the window ending on ``day``, oldest first (the portal chart)."""
    return list(
        AccountHealthSnapshot.objects.filter(
            seller=seller, date__gte=rules.window_start(day), date__lte=day
        )
        .order_by("date")
        .values_list("date", "score")
    )


def violations_by_severity(seller: Seller) -> QuerySet[Violation]:
    """Open violations first, critical before low, newest first within a severity."""
    severity_rank = Case(
        *[When(severity=value, then=Value(Severity.rank(value))) for value in Severity.values],
        output_field=IntegerField(),
    )
    status_rank = Case(When(status=Violation.Status.OPEN, then=Value(0)), default=Value(1))
    return seller.violations.annotate(
        severity_rank=severity_rank, status_rank=status_rank
    ).order_by("status_rank", "severity_rank", "-opened_on", "-pk")


def sellers_visible_to(user) -> QuerySet[Seller]:
    """Staff with desk access and upstream systems see every seller; a seller only their own."""
    sellers = Seller.objects.select_related("store")
    if user.has_perm("accounts.use_desk") or user.has_perm("sellers.push_feed"):
        return sellers
    if user.has_perm("accounts.use_portal"):
        return sellers.filter(users=user)
    return sellers.none()


def seller_for_portal_user(user) -> Seller | None:
    return Seller.objects.select_related("store").filter(users=user).order_by("pk").first()


def portal_sellers(user) -> QuerySet[Seller]:
    """The sellers whose portal pages ``user`` may open.

    A seller login opens only the sellers linked to it (``Seller.users``); a superuser
    opens any seller, so support can see exactly what a seller sees.
    """
    sellers = Seller.objects.select_related("store")
    if user.is_superuser:
        return sellers
    return sellers.filter(users=user)


def seller_health_page(seller: Seller, *, day: dt.date) -> dict:
    """Everything the portal's account-health page shows for ``seller`` on ``day``.

    Keys: ``seller``, ``day``, ``rules``, ``assurance`` (``seller_assurance``: status,
    reasons and path to eligibility), ``latest`` (the latest snapshot on or before
    ``day``, or None), ``band``/``band_label``/``band_range``, ``series`` (the window's
    values for the chart, oldest first), ``violations`` (most severe first) and
    ``contact`` (the emergency contact, or None).
    """
    band_labels = {HEALTHY: "Healthy", AT_RISK: "At Risk", UNHEALTHY: "Unhealthy"}
    band_ranges = {
        HEALTHY: "200\N{EN DASH}1000",
        AT_RISK: "100\N{EN DASH}199",
        UNHEALTHY: "0\N{EN DASH}99",
    }
    rules = Rules.current()
    assurance = seller_assurance(seller, day=day)
    latest = (
        AccountHealthSnapshot.objects.filter(seller=seller, date__lte=day).order_by("-date").first()
    )
    current_band = band(latest.score if latest else None)
    return {
        "seller": seller,
        "day": day,
        "rules": rules,
        "assurance": assurance,
        "latest": latest,
        "band": current_band,
        "band_label": band_labels.get(current_band, ""),
        "band_range": band_ranges.get(current_band, ""),
        "series": ahr_series(seller, day=day, rules=rules),
        "violations": list(violations_by_severity(seller)),
        "contact": EmergencyContact.objects.filter(seller=seller).first(),
    }


def contact_verify_by(seller: Seller) -> dt.date:
    """The last day to verify a new contact number and stay enrolled.

    The daily evaluation keeps an enrolled seller whose contact is invalid for
    ``AHA["CONTACT_GRACE_DAYS"]`` days, counted from ``contact_invalid_since`` (today when
    the evaluation has not seen the change yet).
    """
    state = AssuranceState.objects.filter(seller=seller).first()
    since = (state and state.contact_invalid_since) or timezone.localdate()
    return since + dt.timedelta(days=settings.AHA["CONTACT_GRACE_DAYS"])


def seller_notifications(seller: Seller) -> QuerySet[SellerNotification]:
    """The seller's notification centre, newest first (the ``notice_seller_idx`` index)."""
    return SellerNotification.objects.filter(seller=seller).order_by("-created_at", "-id")


def unread_notification_count(seller: Seller) -> int:
    """The number on the bell: the seller's unread notifications (``notice_unread_idx``)."""
    return SellerNotification.objects.filter(seller=seller, read_at__isnull=True).count()
