"""The sweep: acts on every case whose timer is due (docs/domain.md "Outreach and timers").

Timers are the indexed column ``Case.next_action_at``; ``cases.outreach.plan`` says
what is due and when the case is next due. Beat runs ``sweep_due_cases`` every minute
(also ``manage.py sweep_due_cases``); an opened case is swept at once after commit.

Acting once, whatever runs at the same time:

- On PostgreSQL each batch locks its rows with ``FOR UPDATE SKIP LOCKED``: parallel
  sweeps take different cases.
- On every database the sweep then claims each case with a conditional update on the
  ``next_action_at`` it read; a sweep that lost the race updates nothing and leaves the
  case (SQLite has no row locks).
- The claim, the attempts it decides, the warning events and an escalation commit
  together. Attempts are delivered after commit by their own tasks; a crash before
  commit undoes it all and the next sweep does it again, a crash after leaves pending
  attempts that the sweep re-queues.
- Escalation goes through ``case_transition`` with ``only_from``: a case contacted a
  moment earlier is never escalated as unreachable.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransition

from cases.messages import email_for, sms_for
from cases.models import Case, CaseEvent
from cases.outreach import Due, OutreachRules, plan, state_of
from cases.services import CaseConflict, case_transition_locked
from notifications.models import ContactAttempt
from notifications.services import attempt_create, requeue_due_attempts
from sellers.models import NotificationPreferences
from sellers.models import SellerNotification as Notice

logger = logging.getLogger(__name__)

PROCESS = "deadline sweep"
Purpose = Case.AttemptPurpose
# The view that tells an outreach call what to say (cases.calls).
CALL_TWIML_ROUTE = "outreach:call-twiml"


@dataclass
class SweepReport:
    cases: int = 0
    calls: int = 0
    texts: int = 0
    emails: int = 0
    warnings: int = 0
    escalated: int = 0
    skipped: int = 0
    requeued: int = 0
    errors: int = 0
    batches: int = 0
    by_action: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "by_action"}


def sweep_due_cases(
    *, now: dt.datetime | None = None, batch_size: int | None = None, max_batches: int = 10_000
) -> SweepReport:
    """Acts on every case due at ``now``, in batches of ``batch_size`` (one transaction each)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.AHA["SWEEP_BATCH_SIZE"]
    rules = OutreachRules.from_settings()
    report = SweepReport()
    # A case acted on leaves the due set (its timer moves past now, or to none); only a
    # case this sweep could not claim might still look due, so only those are excluded.
    passed: set[int] = set()
    while report.batches < max_batches:
        try:
            with transaction.atomic():
                batch = list(
                    _due_cases(now)
                    .exclude(pk__in=passed)
                    .order_by("next_action_at", "pk")[:batch_size]
                )
                for case in batch:
                    if not _act_safely(case, now, rules, report):
                        passed.add(case.pk)
        except DatabaseError:
            # SQLite refuses a second writer ("database is locked"): the batch is undone
            # and the next sweep takes it.
            logger.warning("Sweep batch rolled back; the next sweep retries it.", exc_info=True)
            report.errors += 1
            break
        report.batches += 1
        if len(batch) < batch_size:
            break
    report.requeued = requeue_due_attempts(now=now)
    if report.cases or report.requeued or report.errors:
        logger.info("Sweep: %s", report.as_dict())
    return report


def _due_cases(now: dt.datetime):
    return (
        Case.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("seller__store", "seller__emergency_contact", "assigned_to")
        .filter(next_action_at__lte=now)
    )


def sweep_case(case_id: int, *, now: dt.datetime | None = None) -> SweepReport:
    """Sweeps one case now (used right after a case opens)."""
    now = now or timezone.now()
    report = SweepReport()
    with transaction.atomic():
        case = _due_cases(now).filter(pk=case_id).first()
        if case is not None:
            _act_safely(case, now, OutreachRules.from_settings(), report)
    return report


def _act_safely(case: Case, now: dt.datetime, rules: OutreachRules, report: SweepReport) -> bool:
    """Acts on one case; False when it was not this sweep's to act on, or failed."""
    try:
        with transaction.atomic():
            return _act(case, now, rules, report)
    except (CaseConflict, ConcurrentTransition):
        # A person or another sweep changed the case first; what this sweep wrote for it
        # (the audit event of a lost transition) went with the savepoint.
        report.skipped += 1
        return False
    except Exception:
        # One broken case must not stop the sweep: look again in five minutes.
        logger.exception("Sweep could not act on case %s", case.pk)
        report.errors += 1
        Case.objects.filter(pk=case.pk).update(next_action_at=now + dt.timedelta(minutes=5))
        return False


def _act(case: Case, now: dt.datetime, rules: OutreachRules, report: SweepReport) -> bool:
    due = plan(state_of(case), now, rules)
    if due.escalate:
        # Escalation comes alone. Its own state check is the claim: under the batch's row
        # lock on PostgreSQL, and django-fsm's conditional save everywhere, so a second
        # sweep, or a contact made a moment earlier, makes it a CaseConflict or a
        # ConcurrentTransition and nothing is kept.
        only_from, reason = ESCALATIONS[due.escalate]
        case_transition_locked(
            case,
            name="escalate",
            process=PROCESS,
            reason=reason,
            kind=due.escalate,
            only_from=only_from,
        )
        report.cases += 1
        report.escalated += 1
        return True
    changes = {
        "next_action_at": due.next_at,
        "call_rounds": due.call_rounds,
        "deadline_warnings": due.deadline_warnings,
    }
    if due.opening_email:
        changes["outreach_started_at"] = now
    if due.inactivity_warning:
        changes["inactivity_warned_at"] = now
    claimed = Case.objects.filter(pk=case.pk, next_action_at=case.next_action_at).update(**changes)
    if not claimed:
        report.skipped += 1
        return False
    report.cases += 1
    if due.opening_email:
        _email_seller(case, Purpose.OUTREACH, now, report)
    if due.call:
        _call_seller(case, now, report, with_text=case.call_rounds == 0)
    if due.warning_hours_left:
        _warn_desk(case, due, now, report)
    if due.inactivity_warning:
        _email_seller(case, Purpose.INACTIVITY_WARNING, now, report)
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.WARNING,
            actor_process=PROCESS,
            reason=(
                f"No seller activity for {rules.inactivity_warn_days} days: the seller was "
                f"warned; escalation after {rules.inactivity_grace_days} more days."
            ),
            created_at=now,
        )
        report.warnings += 1
    return True


def _email_seller(case: Case, purpose: str, now: dt.datetime, report: SweepReport) -> None:
    language = case.seller.store.language
    kind = Notice.Kind.ACCOUNT_HEALTH if case.is_account_health else Notice.Kind.CRITICAL_CASE
    recipients = case.seller.notification_emails(kind)
    email = email_for(case, purpose, language=language, at=now) if recipients else None
    for address in recipients:
        attempt_create(
            subject=case,
            channel=ContactAttempt.Channel.EMAIL,
            purpose=purpose,
            destination=address,
            language=language,
            email=email,
            now=now,
        )
        report.emails += 1
    if not recipients:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.OUTREACH,
            actor_process=PROCESS,
            reason=(
                "No email address on file for the seller: email skipped."
                if NotificationPreferences.of(case.seller).wants_email(kind)
                else "The seller turned these emails off in their preferences: email skipped."
            ),
            created_at=now,
        )


def _call_seller(case: Case, now: dt.datetime, report: SweepReport, *, with_text: bool) -> None:
    contact = getattr(case.seller, "emergency_contact", None)
    if contact is None or not contact.callable:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.OUTREACH,
            actor_process=PROCESS,
            reason="No callable emergency contact number: the call was skipped.",
            created_at=now,
        )
        return
    language = case.seller.store.language
    attempt_create(
        subject=case,
        channel=ContactAttempt.Channel.CALL,
        purpose=Purpose.OUTREACH,
        destination=str(contact.phone),
        language=language,
        twiml_route=CALL_TWIML_ROUTE,
        now=now,
    )
    report.calls += 1
    if with_text and contact.can_receive_sms:
        attempt_create(
            subject=case,
            channel=ContactAttempt.Channel.SMS,
            purpose=Purpose.OUTREACH,
            destination=str(contact.phone),
            language=language,
            text=sms_for(case, language=language, at=now),
            now=now,
        )
        report.texts += 1
    if case.first_attempt_at is None:
        Case.objects.filter(pk=case.pk, first_attempt_at__isnull=True).update(first_attempt_at=now)


def _warn_desk(case: Case, due: Due, now: dt.datetime, report: SweepReport) -> None:
    """Warns the assigned specialist and whoever gets every case's deadline warnings."""
    recipients = set(_warning_recipients())
    if case.assigned_to_id and case.assigned_to.email:
        recipients.add(case.assigned_to.email)
    email = email_for(case, Purpose.DEADLINE_WARNING, language="en", at=now) if recipients else None
    for address in sorted(recipients):
        attempt_create(
            subject=case,
            channel=ContactAttempt.Channel.EMAIL,
            purpose=Purpose.DEADLINE_WARNING,
            destination=address,
            email=email,
            now=now,
        )
        report.emails += 1
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.WARNING,
        actor_process=PROCESS,
        reason=f"{due.warning_hours_left} hours left to reach the seller: the desk was warned.",
        created_at=now,
    )
    report.warnings += 1


def _warning_recipients() -> list[str]:
    """Emails of the active people holding ``cases.receive_deadline_warnings`` (managers by
    default), through a group or on their own; never chosen by a group's name."""
    permission = Permission.objects.filter(
        content_type__app_label="cases", codename="receive_deadline_warnings"
    ).first()
    if permission is None:
        return []
    holders = Q(groups__permissions=permission) | Q(user_permissions=permission)
    return list(
        get_user_model()
        .objects.filter(holders, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


ESCALATIONS = {
    "unreachable": (
        Case.Status.OPENED,
        "The 72-hour deadline passed without reaching the seller.",
    ),
    "non_cooperation": (
        Case.Status.IN_REMEDIATION,
        "No seller activity on the remediation plan after a warning.",
    ),
}
