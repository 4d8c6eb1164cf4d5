"""What the seller's notification centre hears about their cases (issue 15, item 3).

Each text says what happened, why it matters and what to do, in the seller's store
language, with a link to their account health page. Posted through
``sellers.services.notices.notification_post`` with a ``dedupe_key``, so the same news
posted twice (a retried task, a job run twice) is one notification.

- a critical-policy case opened (``case_open``): ``critical_case``, not emailed, because
  the case's outreach emails the seller at once (an account-health case's opening is
  posted set-based by ``cases.health``);
- a milestone of any case (contacted, remediation started, resolved, escalated,
  reinstated), from the audit receiver in ``cases.signals``: ``critical_case`` or
  ``account_health`` by the case's kind. Only an account-health case's resolution is
  emailed: ``critical_case`` is urgent, emailed whatever the seller's preferences, so a
  milestone the seller took part in is not worth bypassing them. What the desk keeps to
  itself (notes, warnings, assignments, corrections) is never posted;
- plan steps the seller owns that are due soon (``plan_steps_announce_due``, daily from
  beat): ``plan_step``, emailed.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from cases.models import Case, CaseEvent, RemediationStep
from sellers.models import SellerNotification, Store
from sellers.services.notices import notification_post, portal_link

Kind = SellerNotification.Kind
# The transitions the seller hears about; ``recover`` is posted by cases.health, set-based.
MILESTONES = ("contact", "start_remediation", "resolve", "escalate", "reinstate")


def notice_kind(case: Case) -> str:
    return Kind.ACCOUNT_HEALTH if case.is_account_health else Kind.CRITICAL_CASE


def _day(value: dt.date) -> str:
    """A date as the active language writes it ("March 3, 2026", "3. März 2026")."""
    return formats.date_format(value, "DATE_FORMAT")


# --- a critical-policy case opened ----------------------------------------------------


def case_opened_text(case: Case, *, language: str) -> tuple[str, str]:
    with translation.override(language):
        area = case.get_policy_area_display()
        title = gettext("A critical issue on your account needs your attention (case %(id)s)") % {
            "id": case.pk
        }
        if case.assured:
            body = gettext(
                "We found a critical issue on your account (%(area)s) and opened a case. "
                "Your account is protected by Account Health Assurance: it stays active while "
                "a specialist works with you on a fix, as long as we can reach you within 72 "
                "hours. Answer our call on your emergency contact number, or press Call Me Now "
                "on your account health page to talk now."
            )
        else:
            body = gettext(
                "We found a critical issue on your account (%(area)s) and opened a case. A "
                "specialist will contact you to help you fix it; your account is not enrolled "
                "in Account Health Assurance, so act quickly. Answer our call, or press Call "
                "Me Now on your account health page to talk now."
            )
        return title, body % {"area": area}


def critical_case_opened_post(case: Case) -> SellerNotification | None:
    """Posts the opening of a critical-policy case (account-health cases: cases.health)."""
    if case.is_account_health:
        return None
    title, body = case_opened_text(case, language=case.seller.store.language)
    return notification_post(
        seller=case.seller,
        kind=Kind.CRITICAL_CASE,
        title=title,
        body=body,
        link=portal_link(case.seller),
        email=False,
        dedupe_key=f"case:{case.pk}:opened",
        at=case.opened_at,
    )


# --- milestones -----------------------------------------------------------------------


def milestone_text(case: Case, transition: str, *, language: str) -> tuple[str, str]:
    """The title and body of a milestone of ``case`` (a name of ``MILESTONES``)."""
    with translation.override(language):
        number = {"id": case.pk}
        if transition == "contact":
            title = gettext("A specialist has reached you about case %(id)s") % number
            body = gettext(
                "Your Account Health Specialist recorded that they reached you. Next, agree "
                "on the steps of your plan with them: each step has a due date, and the case "
                "closes when every step is done. Your plan is on your account health page."
            )
        elif transition == "start_remediation":
            title = gettext("Your plan for case %(id)s has started") % number
            body = gettext(
                "You and your specialist agreed on a plan, and the work on it has started. "
                "Do each step of yours by its due date: a plan without progress is warned and "
                "then escalated for review. The steps are on your account health page."
            )
        elif transition == "resolve":
            title = gettext("Case %(id)s is resolved") % number
            body = gettext(
                "Every step of your plan is done and your specialist closed the case. Keep "
                "the fixes in place so the issue does not come back; your account health page "
                "shows your rating and any open violations."
            )
        elif transition == "escalate":
            title = gettext("Case %(id)s was escalated for review") % number
            reasons = {
                Case.EscalationReason.UNREACHABLE: gettext(
                    "We could not reach you in time about this case."
                ),
                Case.EscalationReason.NON_COOPERATION: gettext(
                    "There was no progress on your plan after our warning."
                ),
            }
            reason = reasons.get(
                case.escalation_reason, gettext("Your specialist passed the case on for review.")
            )
            body = (
                reason
                + " "
                + gettext(
                    "The enforcement review team now decides about your account. Press Call Me "
                    "Now on your account health page to talk to a specialist as soon as you can."
                )
            )
        elif transition == "reinstate":
            title = gettext("Case %(id)s is open again") % number
            body = gettext(
                "After a review, a manager gave your case back to your specialist, who will "
                "work with you on the fix again. Follow your plan on your account health page "
                "and answer when we call."
            )
        else:
            raise ValueError(f"{transition!r} is no milestone the seller is told about.")
    return title, body


def case_milestone_post(*, case: Case, transition: str, event: CaseEvent) -> None:
    """Posts a milestone of ``case`` once (per audit event); ignores other transitions."""
    if transition not in MILESTONES:
        return
    title, body = milestone_text(case, transition, language=case.seller.store.language)
    notification_post(
        seller=case.seller,
        kind=notice_kind(case),
        title=title,
        body=body,
        link=portal_link(case.seller),
        # Urgent critical_case emails would bypass the seller's preferences: only an
        # account-health case's resolution goes by email (optional, account_health).
        email=case.is_account_health and transition == "resolve",
        dedupe_key=f"case:{case.pk}:{transition}:{event.pk}",
        at=event.created_at,
    )


# --- plan steps due soon --------------------------------------------------------------


def plan_step_due_text(step: RemediationStep, *, language: str) -> tuple[str, str]:
    with translation.override(language):
        day = _day(step.due_on)
        title = gettext("A step of your plan is due on %(day)s") % {"day": day}
        body = gettext(
            "“%(step)s” (case %(id)s) is due on %(day)s. Your case can close only when "
            "every step is done, and a plan without progress is escalated for review. Do "
            "it by then and tell your specialist; if you need help, press Call Me Now on "
            "your account health page."
        ) % {"step": step.text[:300], "id": step.case_id, "day": day}
    return title, body


def plan_steps_announce_due(*, now: dt.datetime | None = None) -> int:
    """Posts, once per step, the seller-owned steps of open cases that are not done and
    are due within ``PLAN_STEP_DUE_SOON_DAYS`` days of the seller's local date (or are
    overdue and were never announced). Returns how many were posted."""
    now = now or timezone.now()
    days = settings.AHA["PLAN_STEP_DUE_SOON_DAYS"]
    posted = 0
    with transaction.atomic():
        for store in Store.objects.order_by("pk"):
            local_today = now.astimezone(ZoneInfo(store.time_zone)).date()
            for step in _steps_due(store, by=local_today + dt.timedelta(days=days)):
                title, body = plan_step_due_text(step, language=store.language)
                notification_post(
                    seller=step.case.seller,
                    kind=Kind.PLAN_STEP,
                    title=title,
                    body=body,
                    link=portal_link(step.case.seller),
                    email=True,
                    dedupe_key=f"step:{step.pk}:due",
                    at=now,
                )
                posted += 1
    return posted


def _steps_due(store: Store, *, by: dt.date) -> list[RemediationStep]:
    """The store's seller-owned open steps due by ``by`` that were not announced yet
    (read before posting: SQLite does not like writes amid a running read)."""
    announced = SellerNotification.objects.filter(
        dedupe_key=Concat(
            Value("step:"),
            Cast(OuterRef("pk"), CharField()),
            Value(":due"),
            output_field=CharField(),
        )
    )
    return list(
        RemediationStep.objects.filter(
            case__seller__store=store,
            case__status__in=Case.OPEN_STATUSES,
            owner=RemediationStep.Owner.SELLER,
            done_at__isnull=True,
            due_on__lte=by,
        )
        .exclude(Exists(announced))
        .select_related("case__seller__store")
        .order_by("due_on", "pk")
    )
