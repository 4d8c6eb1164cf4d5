"""Enrollment decisions: evaluate, enroll, remove, warn (docs/domain.md "AHA eligibility")."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from config.tasks import enqueue_on_commit
from sellers import staging
from sellers.assurance import Facts, Rules, assess
from sellers.models import AssuranceState, EnrollmentEvent, Seller
from sellers.selectors import seller_facts
from sellers.services.evaluation import AFFECTED, Change, affected_sellers_table, evaluate_affected
from sellers.tasks import send_enrollment_email

CHUNK = 50_000


def assurance_evaluate(*, day: dt.date | None = None, seller_ids: list[int] | None = None) -> dict:
    """Brings sellers' eligibility to ``day`` (today by default) and acts on every change.

    All sellers when ``seller_ids`` is None; in chunks, one transaction each.
    """
    day = day or timezone.localdate()
    rules = Rules.current()
    totals = {"evaluated": 0, "enrolled": 0, "removed": 0, "warned": 0}
    if seller_ids is None:
        ids = Seller.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    else:
        ids = iter(sorted(seller_ids))
    while True:
        chunk = [seller_id for _, seller_id in zip(range(CHUNK), ids, strict=False)]
        if not chunk:
            break
        with transaction.atomic(), affected_sellers_table():
            staging.fill(AFFECTED, ["seller_id"], ((seller_id,) for seller_id in chunk))
            changes = evaluate_affected(day=day, rules=rules)
            apply_changes(changes, day=day, rules=rules, totals=totals)
        totals["evaluated"] += len(chunk)
    return totals


def apply_changes(changes: list[Change], *, day: dt.date, rules: Rules, totals: dict) -> None:
    """Runs the enroll/remove/warn services for what the engine found, inside its transaction."""
    for change in changes:
        seller = Seller.objects.select_related("store", "emergency_contact").get(
            pk=change.seller_id
        )
        if change.kind == "enroll":
            seller_enroll(seller=seller, day=day, rules=rules)
            totals["enrolled"] += 1
        elif change.kind == "remove":
            seller_remove(seller=seller, day=day, rules=rules)
            totals["removed"] += 1
        else:
            seller_warn(seller=seller, day=day, rules=rules, kind=change.kind)
            totals["warned"] += 1


def _record(
    seller: Seller,
    kind: str,
    *,
    day: dt.date,
    reason: str,
    rules: Rules,
    facts: Facts,
) -> EnrollmentEvent:
    event = EnrollmentEvent.objects.create(
        seller=seller,
        kind=kind,
        effective_on=day,
        reason=reason,
        rules={
            **rules.as_dict(),
            "measured": {
                "days_below_threshold": facts.days_below,
                "latest_score": facts.latest_score,
                "first_snapshot_on": facts.first_snapshot_on.isoformat()
                if facts.first_snapshot_on
                else None,
                "window_start": rules.window_start(day).isoformat(),
                "window_end": day.isoformat(),
                "store": facts.store_code,
                "store_enabled": facts.store_enabled,
                "professional": facts.professional,
                "contact_problem": facts.contact_problem,
            },
        },
    )
    enqueue_on_commit(send_enrollment_email, event.pk)
    return event


def seller_enroll(*, seller: Seller, day: dt.date, rules: Rules) -> EnrollmentEvent:
    """Enrolls a seller who meets every rule on ``day``, records why and emails them."""
    facts = seller_facts(seller, day=day, rules=rules)
    AssuranceState.objects.filter(seller=seller).update(
        enrolled=True, eligible=True, enrolled_since=day, updated_at=timezone.now()
    )
    return _record(
        seller,
        EnrollmentEvent.Kind.ENROLLED,
        day=day,
        reason="You meet every rule of Account Health Assurance: professional account, "
        f"{rules.window_months} months of history, at most {rules.max_days_below} days below "
        f"{rules.threshold}, a current rating of at least {rules.threshold} and a verified "
        "emergency contact.",
        rules=rules,
        facts=facts,
    )


def seller_remove(*, seller: Seller, day: dt.date, rules: Rules) -> EnrollmentEvent:
    """Removes a seller who no longer meets the rules, with every unmet rule as the reason."""
    facts = seller_facts(seller, day=day, rules=rules)
    reasons = assess(facts, rules).reasons or ["You no longer meet the programme's rules."]
    AssuranceState.objects.filter(seller=seller).update(
        enrolled=False,
        eligible=False,
        enrolled_since=None,
        warned_days_below_on=None,
        warned_contact_on=None,
        updated_at=timezone.now(),
    )
    return _record(
        seller,
        EnrollmentEvent.Kind.REMOVED,
        day=day,
        reason=" ".join(reasons),
        rules=rules,
        facts=facts,
    )


def seller_warn(*, seller: Seller, day: dt.date, rules: Rules, kind: str) -> EnrollmentEvent:
    """Warns an enrolled seller before they lose the programme; once per episode."""
    facts = seller_facts(seller, day=day, rules=rules)
    if kind == "warn_days_below":
        AssuranceState.objects.filter(seller=seller).update(warned_days_below_on=day)
        reason = (
            f"Your Account Health Rating was below {rules.threshold} on {facts.days_below} of the "
            f"{rules.max_days_below} days allowed in the last {rules.window_months} months. "
            f"Above {rules.max_days_below}, your account leaves Account Health Assurance."
        )
        return _record(
            seller,
            EnrollmentEvent.Kind.WARNED_DAYS_BELOW,
            day=day,
            reason=reason,
            rules=rules,
            facts=facts,
        )
    AssuranceState.objects.filter(seller=seller).update(warned_contact_on=day)
    reason = (
        f"{facts.contact_problem or 'Your emergency contact is not valid.'} Verify a number "
        f"within {rules.contact_grace_days} days to stay in Account Health Assurance."
    )
    return _record(
        seller,
        EnrollmentEvent.Kind.WARNED_CONTACT,
        day=day,
        reason=reason,
        rules=rules,
        facts=facts,
    )
