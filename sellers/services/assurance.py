"""Enrollment decisions: evaluate, enroll, remove, warn (docs/domain.md "AHA eligibility")."""

import datetime as dt

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from config.tasks import enqueue_on_commit
from sellers import staging
from sellers.assurance import Facts, Rules, assess
from sellers.models import AssuranceState, EnrollmentEvent, Seller, SellerNotification
from sellers.selectors import seller_facts, sellers_facts_from_state
from sellers.services.bands import bands_update
from sellers.services.evaluation import AFFECTED, Change, affected_sellers_table, evaluate_affected
from sellers.services.notices import portal_link
from sellers.tasks import send_unsent_enrollment_emails

CHUNK = 50_000


def assurance_evaluate(*, day: dt.date | None = None, seller_ids: list[int] | None = None) -> dict:
    """Brings sellers' eligibility to ``day`` (today by default) and acts on every change.

    All sellers when ``seller_ids`` is None; in chunks, one transaction each.
    """
    day = day or timezone.localdate()
    rules = Rules.current()
    totals = {"evaluated": 0, "enrolled": 0, "removed": 0, "warned": 0, "band_changes": 0}
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
            totals["band_changes"] += bands_update(day=day)
        totals["evaluated"] += len(chunk)
    return totals


# The order a seller's changes of one evaluation are applied in: a seller who joins with
# most bad days used is warned right after enrolling.
CHANGE_ORDER = ("enroll", "remove", "warn_days_below", "warn_contact")
EVENT_KINDS = {
    "enroll": EnrollmentEvent.Kind.ENROLLED,
    "remove": EnrollmentEvent.Kind.REMOVED,
    "warn_days_below": EnrollmentEvent.Kind.WARNED_DAYS_BELOW,
    "warn_contact": EnrollmentEvent.Kind.WARNED_CONTACT,
}
TOTALS = {"enroll": "enrolled", "remove": "removed"}
# Rows per statement when many sellers change at once (SQLite takes ~32,000 parameters).
SLICE = 2_000


def apply_changes(changes: list[Change], *, day: dt.date, rules: Rules, totals: dict) -> None:
    """Enrolls, removes and warns the sellers the engine found, inside its transaction.

    Set-based, so a marketplace-wide drop (50,000 sellers leaving the programme in one
    feed) is a few statements per kind of change: the facts are read from the states the
    engine has just brought to ``day``, the states updated, the events and their portal
    notifications inserted in bulk, and one task queued to email them all.
    """
    by_kind: dict[str, list[int]] = {kind: [] for kind in CHANGE_ORDER}
    for change in changes:
        by_kind[change.kind].append(change.seller_id)
    ids = sorted({change.seller_id for change in changes})
    facts = sellers_facts_from_state(ids, day=day, rules=rules)
    for kind in CHANGE_ORDER:
        if by_kind[kind]:
            _apply(kind, [facts[seller_id] for seller_id in by_kind[kind]], day=day, rules=rules)
            key = TOTALS.get(kind, "warned")
            totals[key] += len(by_kind[kind])


def _apply(kind: str, facts: list[tuple[Seller, Facts]], *, day: dt.date, rules: Rules) -> list:
    """One kind of change for many sellers: state, events, notifications, emails queued."""
    now = timezone.now()
    window_start = rules.window_start(day)
    state = {
        "enroll": {"enrolled": True, "eligible": True, "enrolled_since": day},
        "remove": {
            "enrolled": False,
            "eligible": False,
            "enrolled_since": None,
            "warned_days_below_on": None,
            "warned_contact_on": None,
        },
        "warn_days_below": {"warned_days_below_on": day},
        "warn_contact": {"warned_contact_on": day},
    }[kind]
    for start in range(0, len(facts), SLICE):
        AssuranceState.objects.filter(
            seller_id__in=[seller.pk for seller, _ in facts[start : start + SLICE]]
        ).update(**state, updated_at=now)
    # Sellers in the same situation get the same words: each reason is worked out once.
    reasons: dict[tuple, str] = {}
    events = []
    for seller, measured in facts:
        situation = (
            measured.professional,
            measured.store_code,
            measured.store_enabled,
            measured.contact_problem,
            measured.first_snapshot_on,
            measured.latest_score,
            measured.days_below,
        )
        if situation not in reasons:
            reasons[situation] = _reason(kind, seller_facts=measured, rules=rules)
        events.append(
            EnrollmentEvent(
                seller=seller,
                kind=EVENT_KINDS[kind],
                effective_on=day,
                reason=reasons[situation],
                rules=_rules_record(measured, day=day, rules=rules, window_start=window_start),
                created_at=now,
            )
        )
    events = EnrollmentEvent.objects.bulk_create(events, batch_size=SLICE)
    # The portal's copy of the news; the enrollment email is its email. Its words depend on
    # the kind, the language and (one warning) the days used: rendered once for each.
    texts: dict[tuple, tuple[str, str]] = {}
    notices = []
    for event, (seller, measured) in zip(events, facts, strict=True):
        language = seller.store.language
        key = (language, measured.days_below if kind == "warn_days_below" else None)
        if key not in texts:
            texts[key] = enrollment_notice_text(
                event, rules=rules, facts=measured, language=language
            )
        title, body = texts[key]
        notices.append(
            SellerNotification(
                seller=seller,
                kind=SellerNotification.Kind.ENROLLMENT,
                title=title,
                body=body,
                link=portal_link(seller),
                dedupe_key=f"enrollment:{event.pk}",
                created_at=event.created_at,
            )
        )
    SellerNotification.objects.bulk_create(notices, batch_size=SLICE, ignore_conflicts=True)
    enqueue_on_commit(send_unsent_enrollment_emails)
    return events


def _reason(kind: str, *, seller_facts: Facts, rules: Rules) -> str:
    """Why, in the words the event keeps (English; the email and notification translate)."""
    if kind == "enroll":
        return (
            "You meet every rule of Account Health Assurance: professional account, "
            f"{rules.window_months} months of history, at most {rules.max_days_below} days "
            f"below {rules.threshold}, a current rating of at least {rules.threshold} and a "
            "verified emergency contact."
        )
    if kind == "remove":
        reasons = assess(seller_facts, rules).reasons
        return " ".join(reasons or ["You no longer meet the programme's rules."])
    if kind == "warn_days_below":
        return (
            f"Your Account Health Rating was below {rules.threshold} on "
            f"{seller_facts.days_below} of the {rules.max_days_below} days allowed in the last "
            f"{rules.window_months} months. Above {rules.max_days_below}, your account leaves "
            "Account Health Assurance."
        )
    return (
        f"{seller_facts.contact_problem or 'Your emergency contact is not valid.'} Verify a "
        f"number within {rules.contact_grace_days} days to stay in Account Health Assurance."
    )


def _rules_record(facts: Facts, *, day: dt.date, rules: Rules, window_start: dt.date) -> dict:
    """The rule values and the measured values that decided, kept with the event."""
    return {
        **rules.as_dict(),
        "measured": {
            "days_below_threshold": facts.days_below,
            "latest_score": facts.latest_score,
            "first_snapshot_on": facts.first_snapshot_on.isoformat()
            if facts.first_snapshot_on
            else None,
            "window_start": window_start.isoformat(),
            "window_end": day.isoformat(),
            "store": facts.store_code,
            "store_enabled": facts.store_enabled,
            "professional": facts.professional,
            "contact_problem": facts.contact_problem,
        },
    }


def enrollment_notice_text(
    event: EnrollmentEvent, *, rules: Rules, facts: Facts, language: str
) -> tuple[str, str]:
    """The notification of an enrollment event: what happened, why it matters, what to do."""
    kinds = EnrollmentEvent.Kind
    with translation.override(language):
        day = formats.date_format(event.effective_on, "DATE_FORMAT")
        if event.kind == kinds.ENROLLED:
            title = gettext("Your account is now protected by Account Health Assurance")
            body = (
                gettext("From %(day)s your account is enrolled in Account Health Assurance.")
                % {"day": day}
                + " "
                + gettext(
                    "If your account has a critical policy issue, we will not deactivate it as "
                    "long as a specialist can reach you within 72 hours on your emergency "
                    "contact number and you work with them on a fix. Keep that number current."
                )
            )
        elif event.kind == kinds.REMOVED:
            title = gettext("Your account has left Account Health Assurance")
            body = gettext(
                "On %(day)s your account left Account Health Assurance: it no longer meets "
                "every rule of the programme, so a critical policy issue is no longer covered "
                "by the 72-hour promise. You are enrolled again automatically as soon as you "
                "meet every rule; your account health page shows the way back."
            ) % {"day": day}
        elif event.kind == kinds.WARNED_DAYS_BELOW:
            title = gettext("Action needed to keep Account Health Assurance")
            body = gettext(
                "Your Account Health Rating was below %(threshold)s on %(days)s of the "
                "%(allowed)s days allowed in the last %(months)s months. Above %(allowed)s, "
                "your account leaves Account Health Assurance. Fix the violations that cost "
                "the most points first to keep your rating at %(threshold)s or more."
            ) % {
                "threshold": rules.threshold,
                "days": facts.days_below,
                "allowed": rules.max_days_below,
                "months": rules.window_months,
            }
        else:
            title = gettext("Action needed to keep Account Health Assurance")
            body = gettext(
                "Your emergency contact number is not valid or not verified yet, so a "
                "specialist may not reach you in time when your account has a critical issue. "
                "Verify a number within %(days)s days to stay in Account Health Assurance."
            ) % {"days": rules.contact_grace_days}
    return title, body


def seller_enroll(*, seller: Seller, day: dt.date, rules: Rules) -> EnrollmentEvent:
    """Enrolls a seller who meets every rule on ``day``, records why and emails them."""
    return _apply_one("enroll", seller, day=day, rules=rules)


def seller_remove(*, seller: Seller, day: dt.date, rules: Rules) -> EnrollmentEvent:
    """Removes a seller who no longer meets the rules, with every unmet rule as the reason."""
    return _apply_one("remove", seller, day=day, rules=rules)


def seller_warn(*, seller: Seller, day: dt.date, rules: Rules, kind: str) -> EnrollmentEvent:
    """Warns an enrolled seller before they lose the programme; once per episode."""
    return _apply_one(kind, seller, day=day, rules=rules)


def _apply_one(kind: str, seller: Seller, *, day: dt.date, rules: Rules) -> EnrollmentEvent:
    """One seller's change, with the facts read straight from the history."""
    with transaction.atomic():
        [event] = _apply(
            kind, [(seller, seller_facts(seller, day=day, rules=rules))], day=day, rules=rules
        )
    return event
