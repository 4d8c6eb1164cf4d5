"""Reads of cases shared by the desk, the API and the portal.

What a viewer may see is decided here, once: which cases (``cases_visible_to``,
``case_list``), which events of their trail and who is named as acting (``case_events``:
notes, warnings, assignments and corrections are the desk's own), which calls, texts and
emails (``case_attempts``: the desk's own deadline warnings are internal), and the
timeline built from both (``case_timeline``).
"""

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services import UnknownTransition, transition_spec
from notifications.models import ContactAttempt
from sellers.models import Violation

DESK_PERMISSION = "accounts.use_desk"


def _sees_every_case(user) -> bool:
    return user.has_perm(DESK_PERMISSION) or user.has_perm("cases.open_case")


def sees_the_desk(viewer) -> bool:
    """Desk users read the whole trail and the desk's names; nobody else does."""
    return viewer is not None and viewer.has_perm(DESK_PERMISSION)


def cases_visible_to(user) -> QuerySet[Case]:
    """Desk users and upstream systems see every case; a seller's logins only their own."""
    cases = Case.objects.select_related("seller__store", "assigned_to")
    if _sees_every_case(user):
        return cases
    if user.has_perm("accounts.use_portal"):
        return cases.filter(seller__users=user)
    return cases.none()


def _narrowed(
    cases: QuerySet[Case] | None,
    *,
    user,
    status: list[str] | None,
    store: str | None,
    severity: str | None,
    policy_area: str | None,
) -> QuerySet[Case]:
    """The queues' shared filters: open cases unless ``status`` says, one specialist's."""
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
    return cases


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
    cases = _narrowed(
        cases, user=user, status=status, store=store, severity=severity, policy_area=policy_area
    )
    if overdue is True:
        cases = cases.filter(reach_deadline__lt=now, status=Case.Status.OPENED)
    elif overdue is False:
        cases = cases.exclude(reach_deadline__lt=now, status=Case.Status.OPENED)
    return cases.order_by(F("reach_deadline").asc(nulls_last=True), "opened_at", "pk")


def account_health_queue(
    *,
    cases: QuerySet[Case] | None = None,
    user=None,
    status: list[str] | None = None,
    store: str | None = None,
    severity: str | None = None,
    policy_area: str | None = None,
) -> QuerySet[Case]:
    """Account-health cases (open, or those of ``status``), earliest first-attempt target
    first, with the seller's current rating (``seller.assurance``) read in the same query.

    ``cases`` and ``user`` as for ``case_queue``. There is no 72-hour deadline to order
    by: the target is ``first_attempt_due`` (one business day, cases.health).
    """
    cases = _narrowed(
        cases, user=user, status=status, store=store, severity=severity, policy_area=policy_area
    )
    cases = cases.filter(kind=Case.Kind.ACCOUNT_HEALTH).select_related("seller__assurance")
    return cases.order_by(F("first_attempt_due").asc(nulls_last=True), "opened_at", "pk")


def first_attempt_late(case: Case, now: dt.datetime) -> bool:
    """An account-health case whose first-attempt target passed with no attempt made."""
    return (
        case.first_attempt_due is not None
        and case.first_attempt_at is None
        and case.first_attempt_due < now
    )


def case_open_violations(case: Case) -> QuerySet[Violation]:
    """The seller's open violations, those costing the most AHR points first (what the
    specialist walks the seller through on an account-health case)."""
    return case.seller.violations.filter(status=Violation.Status.OPEN).order_by(
        "-points", "-opened_on", "pk"
    )


def case_list(*, viewer, **filters: object) -> QuerySet[Case]:
    """The cases ``viewer`` may see, filtered as ``case_queue`` filters, most urgent first."""
    return case_queue(cases=cases_visible_to(viewer), **filters)


# Who acted, as a seller reads it: the desk's people are never named outside the desk.
DESK_ACTOR = "AHA specialist"
SYSTEM_ACTOR = "AHA"


def case_events(case: Case, viewer) -> list[CaseEvent]:
    """The case's trail as ``viewer`` may read it, oldest first: every event for the desk;
    for anyone else (the seller, an upstream system) only ``CaseEvent.SELLER_KINDS``.

    Each event's ``shown_actor`` is who acted, in words for this viewer: outside the desk,
    a person of the desk is ``"AHA specialist"``, the seller's own logins are named, and
    any other person (an upstream system's user) is ``"AHA"``.
    """
    events = case.events.select_related("actor")
    if sees_the_desk(viewer):
        events = list(events)
        for event in events:
            event.shown_actor = event.actor_label
        return events
    events = list(events.filter(kind__in=CaseEvent.SELLER_KINDS))
    actors = {event.actor_id: event.actor for event in events if event.actor_id}
    own = set(case.seller.users.filter(pk__in=list(actors)).values_list("pk", flat=True))
    names = {
        pk: DESK_ACTOR if sees_the_desk(actor) else SYSTEM_ACTOR
        for pk, actor in actors.items()
        if pk not in own
    }
    for event in events:
        event.shown_actor = names.get(event.actor_id) or event.actor_label
    return events


def case_assignee(case: Case, viewer) -> str | None:
    """Who works the case, for ``viewer``: the username to the desk and upstream systems,
    ``"AHA specialist"`` to the seller (the portal never names the desk's people)."""
    if case.assigned_to_id is None:
        return None
    return case.assigned_to.username if _sees_every_case(viewer) else DESK_ACTOR


def _attempts_for(viewer) -> QuerySet[ContactAttempt]:
    attempts = ContactAttempt.objects.order_by("created_at", "pk")
    if sees_the_desk(viewer):
        return attempts
    return attempts.exclude(purpose__in=Case.INTERNAL_PURPOSES)


def case_attempts(case: Case, viewer) -> QuerySet[ContactAttempt]:
    """Calls, texts and emails about ``case``: all to the desk, those to the seller otherwise."""
    return _attempts_for(viewer).filter(
        subject_type=ContentType.objects.get_for_model(Case), subject_id=case.pk
    )


def outreach_call(attempt_id: int) -> tuple[ContactAttempt, Case] | None:
    """An outreach call and its case, for the call's TwiML (``cases.calls``)."""
    attempt = ContactAttempt.objects.filter(
        pk=attempt_id,
        channel=ContactAttempt.Channel.CALL,
        subject_type=ContentType.objects.get_for_model(Case),
    ).first()
    if attempt is None:
        return None
    case = (
        Case.objects.select_related("seller__store", "assigned_to__specialist")
        .filter(pk=attempt.subject_id)
        .first()
    )
    return (attempt, case) if case is not None else None


def seller_cases(seller, viewer=None) -> QuerySet[Case]:
    """A seller's cases, newest first, with their plans and how we reached out (the portal).

    ``case.to_seller`` holds the attempts the viewer may see, oldest first.
    """
    return (
        Case.objects.filter(seller=seller)
        .prefetch_related(
            "steps", Prefetch("attempts", queryset=_attempts_for(viewer), to_attr="to_seller")
        )
        .order_by("-opened_at", "-pk")
    )


ATTEMPT_TITLES = {
    Case.AttemptPurpose.OUTREACH: "{channel} to the seller",
    Case.AttemptPurpose.DEADLINE_WARNING: "Deadline warning {channel}",
    Case.AttemptPurpose.INACTIVITY_WARNING: "Inactivity warning {channel}",
}


def _status_label(value: str) -> str:
    return Case.Status(value).label if value in Case.Status.values else value


def _event_title(event: CaseEvent) -> str:
    if event.kind != CaseEvent.Kind.TRANSITION:
        return event.get_kind_display()
    try:
        return transition_spec(event.transition).label
    except UnknownTransition:
        return event.transition


def _attempt_row(attempt: ContactAttempt) -> dict:
    """A contact attempt on the timeline: where it went, how far it got, each step's time."""
    channel = attempt.get_channel_display()
    outreach = attempt.purpose == Case.AttemptPurpose.OUTREACH
    title = ATTEMPT_TITLES.get(attempt.purpose, "{channel}").format(
        channel=channel if outreach else channel.lower()
    )
    steps = " → ".join(
        f"{entry['status']} {entry['at'][11:16]}" for entry in attempt.history if "status" in entry
    )
    reason = f"{attempt.destination} · {steps}"
    if attempt.error:
        reason += f"\nLast error: {attempt.error}"
    return {
        "kind": "attempt",
        "title": title,
        "actor": "outreach",
        "at": attempt.created_at,
        "from_status": "",
        "to_status": "",
        "status": attempt.get_status_display(),
        "outcome": attempt.get_outcome_display() if attempt.outcome else "",
        "reason": reason,
    }


def case_timeline(case: Case, viewer) -> list[dict]:
    """The case's events and the attempts ``viewer`` may see (``case_events``,
    ``case_attempts``), oldest first, in words: who or what, when, from → to, why."""
    rows = [
        {
            "kind": event.kind,
            "title": _event_title(event),
            "actor": event.shown_actor,
            "at": event.created_at,
            "from_status": _status_label(event.from_status) if event.from_status else "",
            "to_status": _status_label(event.to_status) if event.to_status else "",
            "reason": event.reason,
        }
        for event in case_events(case, viewer)
    ]
    rows.extend(_attempt_row(attempt) for attempt in case_attempts(case, viewer))
    rows.sort(key=lambda row: row["at"])
    return rows
