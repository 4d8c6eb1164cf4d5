"""Writes on cases: open, transition, assign, notes, remediation plan (docs/domain.md "Cases").

Every transition runs here, inside one transaction with the case row locked
(``select_for_update``); django-fsm's ``ConcurrentTransitionMixin`` refuses a save whose
state moved since it was read, which also covers SQLite where the lock does nothing.
Both refusals become one domain error, :class:`CaseConflict` (HTTP 409).
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed

from accounts.models import User
from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from cases.notices import critical_case_opened_post
from cases.outreach import next_action_for
from cases.tasks import sweep_case_task
from config.errors import Conflict, Forbidden, InvalidInput, NotFound
from config.tasks import enqueue_on_commit
from notifications.services import attempt_connected
from sellers.models import AssuranceState, Seller
from sellers.validators import text_problem
from staff import selectors as staff_selectors
from staff.selectors import is_specialist

TRANSITIONS = ("contact", "start_remediation", "resolve", "escalate", "reinstate")
# A system process (the sweep, a connected call) acts for the desk: it may fire what a
# specialist may, never a decision kept for a permission of its own (reinstate: managers).
PROCESS_PERMISSION = "accounts.use_desk"
# How a seller was reached when the desk records contact, and the evidence's limit.
CONTACT_CHANNELS = {"phone": "Phone", "email": "Email", "sms": "SMS", "other": "Other"}
CONTACT_EVIDENCE_MAX_LENGTH = 1_000


class CaseConflict(Conflict):
    """The transition is not possible from the case's current state, or lost a race (409).

    ``status`` is the case's status now, ``allowed`` the transitions possible from it.
    """

    def __init__(self, message: str, *, case: Case) -> None:
        current = case.get_status_display().lower()
        if current not in message.lower():
            message = f"{message} The case is {current}."
        super().__init__(
            message,
            status=case.status,
            allowed=[t.name for t in case.get_available_status_transitions()],
        )


class UnknownTransition(NotFound):
    """No transition has this name (404); the message names those that exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"No transition is called {name!r}; use one of {', '.join(TRANSITIONS)}.")
        self.name = name


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    label: str
    done: str
    needs_reason: bool
    permission: str


def transition_spec(name: str) -> TransitionSpec:
    if name not in TRANSITIONS:
        raise UnknownTransition(name)
    meta = getattr(Case, name)._django_fsm
    first = next(iter(meta.transitions.values()))
    return TransitionSpec(
        name=name,
        label=first.custom.get("label", name),
        done=first.custom.get("done", name),
        needs_reason=first.custom.get("needs_reason", False),
        permission=first.permission,
    )


def transitions_for(case: Case, user: User) -> list[TransitionSpec]:
    """The transitions ``user`` may fire on ``case`` now (state, conditions, permission)."""
    return [transition_spec(t.name) for t in case.get_available_user_status_transitions(user=user)]


def _deadline_for(opened_at: dt.datetime) -> dt.datetime:
    return opened_at + dt.timedelta(hours=settings.AHA["REACH_DEADLINE_HOURS"])


def specialist_pick(*, seller: Seller) -> User | None:
    """The on-duty specialist serving the seller's store with the fewest open cases."""
    open_cases = Count(
        "user__assigned_cases", filter=Q(user__assigned_cases__status__in=Case.OPEN_STATUSES)
    )
    specialist = staff_selectors.specialist_pick(store=seller.store, workload=open_cases)
    return specialist.user if specialist else None


def case_open(
    *,
    seller: Seller,
    policy_area: str,
    severity: str,
    summary: str,
    evidence: str = "",
    upstream_id: str | None = None,
    by: User | None = None,
    process: str = "",
) -> tuple[Case, bool]:
    """Opens a case, or returns the existing one for the same ``upstream_id``.

    A case of an enrolled seller is assured: ``reach_deadline = opened_at + 72 h``.
    One upstream issue is one seller's case: its ``upstream_id`` sent again for another
    seller is a Conflict (409), never that seller's case. Returns ``(case, created)``.
    """
    if upstream_id and (existing := _case_of_upstream_id(upstream_id, seller=seller)):
        return existing, False
    opened_at = timezone.now()
    assured = AssuranceState.objects.filter(seller=seller, enrolled=True).exists()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                seller=seller,
                policy_area=policy_area,
                severity=severity,
                summary=summary,
                evidence=evidence,
                upstream_id=upstream_id or None,
                assured=assured,
                opened_at=opened_at,
                reach_deadline=_deadline_for(opened_at) if assured else None,
                assigned_to=specialist_pick(seller=seller),
                # Outreach starts at once: the sweep of this case runs after commit.
                next_action_at=opened_at,
            )
            CaseEvent.objects.create(
                case=case,
                kind=CaseEvent.Kind.OPENED,
                to_status=case.status,
                actor=by,
                actor_process=process if by is None else "",
                reason=(
                    "Assured: reach the seller by the deadline."
                    if assured
                    else "The seller is not enrolled in AHA: no 72-hour guarantee."
                ),
            )
            enqueue_on_commit(sweep_case_task, case.pk)
            critical_case_opened_post(case)
            if case.assigned_to_id:
                CaseEvent.objects.create(
                    case=case,
                    kind=CaseEvent.Kind.ASSIGNMENT,
                    actor_process="assignment",
                    reason=f"Assigned to {case.assigned_to.get_username()} (on duty, least load).",
                )
    except IntegrityError:
        # The same upstream issue arrived twice at once: the other request created it.
        if upstream_id and (existing := _case_of_upstream_id(upstream_id, seller=seller)):
            return existing, False
        raise
    return case, True


def _case_of_upstream_id(upstream_id: str, *, seller: Seller) -> Case | None:
    """The case already opened for ``upstream_id``; Conflict when it is another seller's."""
    existing = Case.objects.filter(upstream_id=upstream_id).first()
    if existing is not None and existing.seller_id != seller.pk:
        raise Conflict(
            f"upstream_id {upstream_id!r} is already the case of another seller.",
            status=existing.status,
        )
    return existing


def case_transition(
    *,
    case_id: int,
    name: str,
    by: User | None = None,
    process: str = "",
    reason: str = "",
    only_from: str | None = None,
    channel: str = "",
    evidence: str = "",
    **extra: object,
) -> Case:
    """Fires transition ``name`` on the case, as ``by`` or as a system ``process``.

    Recording contact may say by which ``channel`` the seller answered and its
    ``evidence`` (docs/domain.md: a reply is recorded with its evidence); both are kept in
    the audit event's reason, "Channel: phone. Evidence: ...".

    ``only_from`` refuses the transition unless the case is in that state when locked
    (the sweep escalates as unreachable only a case still opened). The case's timer is
    set again from its new state.

    Raises UnknownTransition, Forbidden (the person, or a system process, may never
    fire it), InvalidInput (a required reason is missing) or CaseConflict (not possible
    now).
    """
    reason = _with_contact_evidence(name, reason=reason, channel=channel, evidence=evidence)
    spec, reason = _checked(name, by=by, reason=reason)
    try:
        with transaction.atomic():
            # The store's time zone sets the case's next timer after the transition.
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("seller__store")
                .get(pk=case_id)
            )
            _fire(case, spec, by=by, process=process, reason=reason, only_from=only_from, **extra)
    except (TransitionNotAllowed, ConcurrentTransition):
        # Read the winner's state after the rollback: the failed save left the atomic
        # block unusable for queries.
        case = Case.objects.get(pk=case_id)
        raise CaseConflict(
            f"Someone else changed this case first; it is now {case.get_status_display()}.",
            case=case,
        ) from None
    return case


def case_call_connected(*, attempt_id: int, at: dt.datetime | None = None) -> Case | None:
    """An outreach call answered by a person and connected to a specialist: the seller is
    reached, so the case is ``contacted`` (docs/domain.md "Cases"), judged against its deadline.

    Twilio may tell us twice (the specialist's answer, then the dial's result): the first
    report counts, the second finds the case contacted already and changes nothing.
    """
    with transaction.atomic():
        attempt = attempt_connected(attempt_id=attempt_id, at=at)
        if attempt.subject_id is None:
            return None
        try:
            return case_transition(
                case_id=attempt.subject_id,
                name="contact",
                process="twilio call",
                reason="The seller answered our call and was connected to a specialist.",
                at=attempt.connected_at,
            )
        except CaseConflict:
            # Contacted already, by this call's other report or by a person.
            return None


def _with_contact_evidence(name: str, *, reason: str, channel: str, evidence: str) -> str:
    """The reason of a transition with the contact's channel and evidence written in."""
    channel = (channel or "").strip().lower()
    evidence = (evidence or "").strip()
    if not channel and not evidence:
        return reason
    if name != "contact":
        raise InvalidInput({"channel": ["Only recording contact takes a channel and evidence."]})
    if channel and channel not in CONTACT_CHANNELS:
        raise InvalidInput(
            {"channel": [f"Choose one of {', '.join(CONTACT_CHANNELS)}, not {channel!r}."]}
        )
    if problem := text_problem(evidence):
        raise InvalidInput({"evidence": [problem]})
    if len(evidence) > (limit := CONTACT_EVIDENCE_MAX_LENGTH):
        too_long = f"Ensure this field has no more than {limit} characters."
        raise InvalidInput({"evidence": [too_long]})
    parts = [f"Channel: {channel}." if channel else "", f"Evidence: {evidence}" if evidence else ""]
    return " ".join(part for part in [*parts, (reason or "").strip()] if part)


def _checked(name: str, *, by: User | None, reason: str) -> tuple[TransitionSpec, str]:
    """The transition's spec and the cleaned reason, once who and why are allowed."""
    spec = transition_spec(name)
    if by is not None and not by.has_perm(spec.permission):
        raise Forbidden(f"You may not {spec.label.lower()} cases.")
    if by is None and spec.permission != PROCESS_PERMISSION:
        raise Forbidden(f"A system process may not {spec.label.lower()} cases.")
    reason = (reason or "").strip()
    # No database takes NUL or a lone surrogate: refuse them as bad input, not a 500.
    if problem := text_problem(reason):
        raise InvalidInput({"reason": [problem]})
    # The reason is kept as the escalation note or resolution reason: their limit.
    limit = Case._meta.get_field("escalation_note").max_length
    if len(reason) > limit:
        raise InvalidInput({"reason": [f"Ensure this field has no more than {limit} characters."]})
    if spec.needs_reason and not reason:
        raise InvalidInput({"reason": [f"Say why: {spec.label.lower()} needs a reason."]})
    return spec, reason


def _fire(
    case: Case,
    spec: TransitionSpec,
    *,
    by: User | None,
    process: str,
    reason: str,
    only_from: str | None,
    **extra: object,
) -> None:
    """Fires the transition on a case its caller read under a row lock, and saves it.

    Raises CaseConflict when the case is not in a state for it, and django-fsm's
    ConcurrentTransition when the row's state moved since it was read (SQLite).
    """
    method = getattr(case, spec.name)
    if only_from is not None and case.status != only_from:
        raise CaseConflict(_not_now(case, spec), case=case)
    if not can_proceed(method):
        raise CaseConflict(_not_now(case, spec), case=case)
    method(by=by, process=process, reason=reason, **extra)
    case.next_action_at = next_action_for(case, timezone.now())
    case.save()


def case_transition_locked(
    case: Case, *, name: str, process: str, reason: str, only_from: str, **extra: object
) -> None:
    """A system process fires a transition on a case it holds locked in its transaction.

    For the sweep, which has read and locked the row already. The caller's transaction
    must roll back on CaseConflict or ConcurrentTransition: the audit event was written.
    """
    spec, reason = _checked(name, by=None, reason=reason)
    _fire(case, spec, by=None, process=process, reason=reason, only_from=only_from, **extra)


def _not_now(case: Case, spec: TransitionSpec) -> str:
    if spec.name == "start_remediation" and case.status == Case.Status.CONTACTED:
        return "Add at least one plan step before starting remediation."
    if spec.name == "resolve" and case.status == Case.Status.IN_REMEDIATION:
        return "Every plan step must be done before the case is resolved."
    return f"This case is {case.get_status_display().lower()}: it cannot be {spec.done} now."


def case_assign(*, case_id: int, to: User | None, by: User) -> Case:
    """Managers reassign work; the change is an event."""
    if not by.has_perm("cases.assign_case"):
        raise Forbidden("Only managers assign cases.")
    if to is not None and not is_specialist(to):
        raise InvalidInput({"assigned_to": [f"{to.get_username()} is not a specialist."]})
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.assigned_to_id == (to.pk if to else None):
            return case
        case.assigned_to = to
        case.save(update_fields=["assigned_to", "updated_at"])
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.ASSIGNMENT,
            actor=by,
            reason=f"Assigned to {to.get_username()}." if to else "Unassigned.",
        )
    return case


# What a correction may change: the case's description, never a field a rule reads.
CORRECTABLE_FIELDS = ("summary", "evidence", "severity", "policy_area")


def case_correct(*, case_id: int, by: User, changes: dict[str, object]) -> Case:
    """Corrects the description of a case (``CORRECTABLE_FIELDS``), one event stating each
    field before and after; ``cases.correct_case`` only (managers).

    Raises Forbidden, or InvalidInput naming a field that may not be corrected or a value
    the field does not take. A correction that changes nothing writes nothing.
    """
    if not by.has_perm("cases.correct_case"):
        raise Forbidden("Only managers correct cases.")
    refused = {
        field: [f"{field} is not corrected by hand: only {', '.join(CORRECTABLE_FIELDS)} are."]
        for field in changes
        if field not in CORRECTABLE_FIELDS
    }
    if refused:
        raise InvalidInput(refused)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        changed = []
        for field, given in changes.items():
            value = given.strip() if isinstance(given, str) else given
            if isinstance(value, str) and (problem := text_problem(value)):
                raise InvalidInput({field: [problem]})
            before = getattr(case, field)
            if value != before:
                setattr(case, field, value)
                changed.append((field, before, value))
        if not changed:
            return case
        fields = [field for field, _, _ in changed]
        try:
            case.clean_fields(exclude=[f.name for f in Case._meta.fields if f.name not in fields])
        except ValidationError as error:
            raise InvalidInput(error.message_dict) from None
        case.save(update_fields=[*fields, "updated_at"])
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.CORRECTION,
            actor=by,
            reason="Corrected "
            + "; ".join(f"{field}: {before!r} → {after!r}" for field, before, after in changed)
            + ".",
        )
    return case


def case_add_note(*, case_id: int, by: User, text: str) -> CaseNote:
    text = (text or "").strip()
    if not text:
        raise InvalidInput({"text": ["Write something in the note."]})
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        note = CaseNote.objects.create(case=case, author=by, text=text)
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, actor=by, reason=text)
    return note


def remediation_step_add(
    *, case_id: int, by: User, text: str, owner: str, due_on: dt.date
) -> RemediationStep:
    """Adds a step to the plan the seller sees; closed cases take no new steps."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if not case.is_open:
            raise CaseConflict(
                f"This case is {case.get_status_display().lower()}: it takes no new plan steps.",
                case=case,
            )
        step = RemediationStep(
            case=case, text=text.strip(), owner=owner, due_on=due_on, created_by=by
        )
        step.full_clean()
        # The desk shows a step "late" from the day after its due date (local date).
        if step.due_on < timezone.localdate():
            raise InvalidInput({"due_on": ["The due date cannot be in the past."]})
        step.save()
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.STEP_ADDED,
            actor=by,
            reason=f"{step.get_owner_display()}: {step.text} (due {step.due_on:%d %b %Y})",
        )
    return step


def remediation_step_complete(*, step_id: int, by: User) -> RemediationStep:
    """Marks a step done; a done step owned by the seller counts as seller activity."""
    with transaction.atomic():
        case_id = RemediationStep.objects.values_list("case_id", flat=True).get(pk=step_id)
        case = Case.objects.select_for_update().get(pk=case_id)
        # Read the step under the case's lock: two clicks at once count once.
        step = RemediationStep.objects.get(pk=step_id)
        if step.done_at is not None:
            return step
        if not case.is_open:
            raise CaseConflict(
                f"This case is {case.get_status_display().lower()}: its plan is closed.", case=case
            )
        now = timezone.now()
        step.done_at = now
        step.save(update_fields=["done_at"])
        if step.owner == RemediationStep.Owner.SELLER:
            Case.objects.filter(pk=case.pk).update(last_seller_activity_at=now)
        CaseEvent.objects.create(
            case=case, kind=CaseEvent.Kind.STEP_DONE, actor=by, reason=f"Done: {step.text}"
        )
    return step
