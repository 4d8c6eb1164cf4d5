import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.email import send_templated_email
from sellers.models import EnrollmentEvent, SellerNotification

TEMPLATES = {
    EnrollmentEvent.Kind.ENROLLED: "sellers/emails/enrolled",
    EnrollmentEvent.Kind.REMOVED: "sellers/emails/removed",
    EnrollmentEvent.Kind.WARNED_DAYS_BELOW: "sellers/emails/warning",
    EnrollmentEvent.Kind.WARNED_CONTACT: "sellers/emails/warning",
}


@shared_task(name="sellers.tasks.send_enrollment_email", acks_late=True)
def send_enrollment_email(event_id: int) -> None:
    """Emails the seller about an enrollment event; at most once per event.

    The event row is locked while sending (``skip_locked``: a second worker leaves it),
    and marked sent in the same transaction, so a failed send is retried by
    ``send_pending_enrollment_emails`` and a sent one is never sent again.
    """
    with transaction.atomic():
        event = (
            EnrollmentEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("seller__store")
            .filter(pk=event_id, emailed_at__isnull=True)
            .first()
        )
        if event is None:
            return
        recipients = event.seller.notification_emails(SellerNotification.Kind.ENROLLMENT)
        if recipients:
            send_templated_email(
                to=recipients,
                template=TEMPLATES[event.kind],
                context={"event": event, "seller": event.seller},
                language=event.seller.store.language,
            )
        event.emailed_at = timezone.now()
        event.save(update_fields=["emailed_at"])


@shared_task(name="sellers.tasks.send_unsent_enrollment_emails", acks_late=True)
def send_unsent_enrollment_emails() -> int:
    """Right after an evaluation commits: emails every enrollment event not emailed yet,
    oldest first (one task for a whole evaluation, however many sellers it changed)."""
    sent, last = 0, 0
    pending = EnrollmentEvent.objects.filter(emailed_at__isnull=True).order_by("pk")
    # Onwards from the last one looked at: an event another worker holds is its to send.
    while batch := list(pending.filter(pk__gt=last).values_list("pk", flat=True)[:500]):
        for event_id in batch:
            send_enrollment_email(event_id)
        sent += len(batch)
        last = batch[-1]
    return sent


@shared_task(name="sellers.tasks.send_pending_enrollment_emails")
def send_pending_enrollment_emails() -> int:
    """Every few minutes: sends the enrollment emails that never reached a worker."""
    cutoff = timezone.now() - dt.timedelta(minutes=2)
    pending = EnrollmentEvent.objects.filter(emailed_at__isnull=True, created_at__lt=cutoff)
    sent = 0
    for event_id in pending.order_by("pk").values_list("pk", flat=True)[:500]:
        send_enrollment_email(event_id)
        sent += 1
    return sent


@shared_task(name="sellers.tasks.evaluate_assurance")
def evaluate_assurance() -> dict:
    """Daily: brings every seller's eligibility to today and enrolls or removes."""
    from sellers.services import assurance_evaluate

    return assurance_evaluate()


NOTIFICATION_EMAIL_BATCH = 200


@shared_task(name="sellers.tasks.send_notification_emails", acks_late=True)
def send_notification_emails(limit: int = 10_000) -> int:
    """Emails the notifications posted with ``email=True`` that are not sent yet, oldest
    first, in batches; also every few minutes from beat. Returns how many were emailed.

    Each batch locks its rows (``skip_locked``: a second worker takes others) and marks
    them in the same transaction, so a notification is emailed at most once; one whose
    kind the seller switched off is marked and not sent.
    """
    sent = 0
    while limit > 0:
        with transaction.atomic():
            batch = list(
                SellerNotification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("seller__store", "seller__notification_preferences")
                .filter(email_wanted=True, emailed_at__isnull=True)
                .order_by("created_at", "pk")[: min(limit, NOTIFICATION_EMAIL_BATCH)]
            )
            if not batch:
                break
            for notice in batch:
                recipients = notice.seller.notification_emails(notice.kind)
                if recipients:
                    send_templated_email(
                        to=recipients,
                        template="sellers/emails/notification",
                        context={
                            "notice": notice,
                            "seller": notice.seller,
                            "base_url": settings.PUBLIC_BASE_URL,
                        },
                        language=notice.seller.store.language,
                    )
                    sent += 1
            SellerNotification.objects.filter(pk__in=[n.pk for n in batch]).update(
                emailed_at=timezone.now()
            )
        limit -= len(batch)
    return sent
