"""Contact attempts: create, deliver with retries, and record what the provider reports.

The app that decides an attempt gives everything it needs: what it is about (any
model), its purpose, and what it says (an :class:`~config.email.Email`, a text, or the
URL name of the view that answers the call). Nothing here knows a case.

The life of an attempt (docs/domain.md "Channels"):

1. ``attempt_create`` inside the transaction that decided it; a task is queued after
   commit, and the caller's sweep re-queues any attempt whose task never ran
   (``requeue_due_attempts``).
2. ``attempt_deliver`` claims it (``pending`` → ``sending``, a conditional update, so two
   workers given the same attempt send it once), sends it through the channel adapter
   or Django email, and records the provider's id. A passing failure (Twilio 5xx or 429,
   a timeout, an SMTP 4xx) puts it back to ``pending`` with a later ``next_try_at``
   (1, 2, 4... minutes) until ``DELIVERY_MAX_TRIES``; then it is ``failed`` with the error.
3. ``attempt_record_status`` takes each status callback under a row lock: it is kept in
   the history once, and moves the status only forward, so callbacks that come twice,
   late or out of order leave the attempt in its true final state.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from config.email import Email, send_email
from config.logging import mask_contacts
from config.tasks import enqueue_on_commit
from notifications.channels import ChannelError, channels
from notifications.models import ContactAttempt
from notifications.tasks import deliver_attempt

logger = logging.getLogger(__name__)

Status = ContactAttempt.Status
# A claim older than this belongs to a worker that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=5)
# A queued task that has not run after this long is queued again.
REQUEUE_AFTER = dt.timedelta(minutes=2)


def _stamp(moment: dt.datetime) -> str:
    """History times in UTC, so that sorting the strings sorts the moments."""
    return moment.astimezone(dt.UTC).isoformat()


def public_url(name: str, *args: object) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name, args=args)


def attempt_create(
    *,
    subject: models.Model | None,
    channel: str,
    purpose: str,
    destination: str,
    language: str = "en",
    email: Email | None = None,
    text: str = "",
    twiml_route: str = "",
    now: dt.datetime | None = None,
) -> ContactAttempt:
    """Records an attempt to make and queues its delivery once the transaction commits.

    An email needs ``email``, a text message ``text``, a call ``twiml_route``: the URL
    name of the caller's view that Twilio asks, with the attempt's id, what to say.
    """
    needs = {
        ContactAttempt.Channel.EMAIL: email is not None,
        ContactAttempt.Channel.SMS: bool(text),
        ContactAttempt.Channel.CALL: bool(twiml_route),
    }
    if not needs[channel]:
        raise ValueError(f"A {channel} attempt needs its content (email, text or twiml_route).")
    now = now or timezone.now()
    attempt = ContactAttempt.objects.create(
        subject_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        channel=channel,
        purpose=purpose,
        destination=str(destination),
        language=language,
        email_subject=email.subject if email else "",
        body=email.text if email else text,
        html_body=email.html if email else "",
        twiml_route=twiml_route,
        next_try_at=now,
        enqueued_at=now,
        created_at=now,
        history=[{"status": Status.PENDING, "at": _stamp(now)}],
    )
    enqueue_on_commit(deliver_attempt, attempt.pk)
    return attempt


def attempt_deliver(attempt_id: int, *, now: dt.datetime | None = None) -> ContactAttempt | None:
    """Sends the attempt if it is due and nobody else is sending it; else does nothing."""
    now = now or timezone.now()
    claimed = ContactAttempt.objects.filter(
        pk=attempt_id, status=Status.PENDING, next_try_at__lte=now
    ).update(status=Status.SENDING, claimed_at=now, tries=F("tries") + 1)
    if not claimed:
        return None
    attempt = ContactAttempt.objects.get(pk=attempt_id)
    try:
        provider_id, status = _send(attempt)
    except ChannelError as exc:
        return _failed_try(attempt, str(exc), transient=exc.transient, now=timezone.now())
    except smtplib.SMTPResponseException as exc:
        transient = 400 <= exc.smtp_code < 500
        return _failed_try(
            attempt,
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
            transient=transient,
            now=timezone.now(),
        )
    except smtplib.SMTPRecipientsRefused as exc:
        # The server refused the address: a 5xx such as "no such mailbox" is final, a 4xx
        # asks to try later, as for any other SMTP reply.
        replies = list(exc.recipients.values())
        return _failed_try(
            attempt,
            "; ".join(f"SMTP {code}: {error!r}" for code, error in replies) or str(exc),
            transient=all(400 <= code < 500 for code, _ in replies),
            now=timezone.now(),
        )
    except (smtplib.SMTPException, OSError) as exc:
        return _failed_try(attempt, f"Email server: {exc}", transient=True, now=timezone.now())
    sent_at = timezone.now()
    ContactAttempt.objects.filter(pk=attempt_id).update(provider_id=provider_id, sent_at=sent_at)
    logger.info(
        "Sent %s #%s to %s (%s)",
        attempt.channel,
        attempt.pk,
        mask_contacts(attempt.destination),
        provider_id,
    )
    return attempt_record_status(attempt_id=attempt_id, status=status, at=sent_at, source="sent")


def _send(attempt: ContactAttempt) -> tuple[str, str]:
    """Hands the attempt to its channel; returns the provider's id and the first status."""
    if attempt.channel == ContactAttempt.Channel.EMAIL:
        send_email(
            to=[attempt.destination],
            email=Email(subject=attempt.email_subject, text=attempt.body, html=attempt.html_body),
        )
        return "", Status.SENT
    adapter = channels()
    if attempt.channel == ContactAttempt.Channel.CALL:
        sid = adapter.call(
            to=attempt.destination,
            twiml_url=public_url(attempt.twiml_route, attempt.pk),
            status_callback=public_url("notifications:call-status", attempt.pk),
        )
        return sid, Status.QUEUED
    sid = adapter.sms(
        to=attempt.destination,
        body=attempt.body,
        status_callback=public_url("notifications:sms-status", attempt.pk),
    )
    return sid, Status.QUEUED


def _failed_try(
    attempt: ContactAttempt, error: str, *, transient: bool, now: dt.datetime
) -> ContactAttempt:
    error = mask_contacts(error)
    entry = {"status": "error", "at": _stamp(now), "error": error, "try": attempt.tries}
    if transient and attempt.tries < settings.AHA["DELIVERY_MAX_TRIES"]:
        wait = dt.timedelta(minutes=2 ** (attempt.tries - 1))
        ContactAttempt.objects.filter(pk=attempt.pk, status=Status.SENDING).update(
            status=Status.PENDING, next_try_at=now + wait, error=error, enqueued_at=None
        )
        logger.warning(
            "%s #%s failed (try %s), again in %s: %s",
            attempt.channel,
            attempt.pk,
            attempt.tries,
            wait,
            error,
        )
    else:
        ContactAttempt.objects.filter(pk=attempt.pk, status=Status.SENDING).update(
            status=Status.FAILED, outcome=ContactAttempt.Outcome.FAILED, error=error
        )
        logger.error(
            "%s #%s failed for good after %s tries: %s",
            attempt.channel,
            attempt.pk,
            attempt.tries,
            error,
        )
    _append_history(attempt.pk, entry)
    return ContactAttempt.objects.get(pk=attempt.pk)


def _append_history(attempt_id: int, entry: dict) -> None:
    with transaction.atomic():
        attempt = ContactAttempt.objects.select_for_update().get(pk=attempt_id)
        attempt.history = [*attempt.history, entry]
        attempt.save(update_fields=["history", "updated_at"])


def attempt_record_status(
    *,
    attempt_id: int,
    status: str,
    at: dt.datetime | None = None,
    answered_by: str = "",
    source: str = "callback",
) -> ContactAttempt:
    """Takes one status report; the same report twice, or a late one, changes nothing.

    ``at`` is the provider's time of the report; one further than
    ``AHA["PROVIDER_TIME_MAX_SKEW_HOURS"]`` from ours is not believed (a clock that is
    wrong, or a forged year 9999): our time is recorded, and the entry says so.
    """
    at, doubted = _believable(at, now=timezone.now())
    with transaction.atomic():
        attempt = ContactAttempt.objects.select_for_update().get(pk=attempt_id)
        changed = False
        if not any(entry.get("status") == status for entry in attempt.history):
            entry = {"status": status, "at": _stamp(at), "source": source, **doubted}
            attempt.history = sorted([*attempt.history, entry], key=lambda e: e["at"])
            changed = True
        rank = ContactAttempt.RANK.get(status)
        if rank is not None and not attempt.is_final and rank > ContactAttempt.RANK[attempt.status]:
            attempt.status = status
            changed = True
        if answered_by and not attempt.answered_by:
            attempt.answered_by = answered_by
            changed = True
        outcome = outcome_of(attempt)
        if outcome != attempt.outcome:
            attempt.outcome = outcome
            changed = True
        if changed:
            attempt.save()
    return attempt


def _believable(at: dt.datetime | None, *, now: dt.datetime) -> tuple[dt.datetime, dict]:
    """The moment to record for a provider's ``at``, and what to note when it is not that.

    Aware datetimes are compared without converting either (no overflow at year 1 or
    9999); a naive one is the provider's mistake and is read as UTC.
    """
    if at is None:
        return now, {}
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    hours = settings.AHA["PROVIDER_TIME_MAX_SKEW_HOURS"]
    if abs(at - now) <= dt.timedelta(hours=hours):
        return at, {}
    note = (
        f"The provider's time was more than {hours} hour{'s' if hours != 1 else ''} "
        "from ours; ours is recorded."
    )
    return now, {"reported_at": at.isoformat(), "note": note}


def outcome_of(attempt: ContactAttempt) -> str:  # noqa: PLR0911 - one answer per case
    """The outcome the facts so far show; empty while the attempt is still going."""
    Outcome = ContactAttempt.Outcome  # noqa: N806
    if attempt.connected_at:
        return Outcome.CONNECTED
    if not attempt.is_final:
        return attempt.outcome if attempt.outcome == Outcome.FAILED else ""
    if attempt.channel == ContactAttempt.Channel.CALL:
        if attempt.status == Status.COMPLETED:
            if attempt.answered_by.startswith("machine"):
                return Outcome.VOICEMAIL
            return Outcome.ANSWERED
        return {
            Status.BUSY: Outcome.BUSY,
            Status.NO_ANSWER: Outcome.NO_ANSWER,
        }.get(attempt.status, Outcome.FAILED)
    if attempt.status == Status.DELIVERED:
        return Outcome.DELIVERED
    return Outcome.FAILED


def attempt_connected(*, attempt_id: int, at: dt.datetime | None = None) -> ContactAttempt:
    """The call was answered and bridged to a person; the first report of it counts.

    What a connected call means (a case reached, a call back done) is the caller's to
    decide: it calls this, then its own service, in one transaction.
    """
    at = at or timezone.now()
    with transaction.atomic():
        attempt = ContactAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.connected_at is None:
            attempt.connected_at = at
            attempt.history = sorted(
                [
                    *attempt.history,
                    {"status": "connected", "at": _stamp(at), "source": "callback"},
                ],
                key=lambda e: e["at"],
            )
            attempt.outcome = outcome_of(attempt)
            attempt.save()
    return attempt


def requeue_due_attempts(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Queues deliveries whose task was lost or whose retry is due; returns how many."""
    now = now or timezone.now()
    # A worker that died holding a claim: give the attempt back.
    ContactAttempt.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        status=Status.PENDING, next_try_at=now, enqueued_at=None
    )
    due = list(
        ContactAttempt.objects.filter(status=Status.PENDING, next_try_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
        .order_by("next_try_at")
        .values_list("pk", flat=True)[:limit]
    )
    if due:
        ContactAttempt.objects.filter(pk__in=due).update(enqueued_at=now)
        for attempt_id in due:
            try:
                deliver_attempt.delay(attempt_id)
            except Exception:
                logger.warning("Could not queue delivery of attempt %s", attempt_id, exc_info=True)
                ContactAttempt.objects.filter(pk=attempt_id).update(enqueued_at=None)
    return len(due)
