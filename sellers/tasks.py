from celery import shared_task
from django.utils import timezone

from notifications.email import send_templated_email
from sellers.models import EnrollmentEvent
from sellers.services import assurance_evaluate

TEMPLATES = {
    EnrollmentEvent.Kind.ENROLLED: "sellers/emails/enrolled",
    EnrollmentEvent.Kind.REMOVED: "sellers/emails/removed",
    EnrollmentEvent.Kind.WARNED_DAYS_BELOW: "sellers/emails/warning",
    EnrollmentEvent.Kind.WARNED_CONTACT: "sellers/emails/warning",
}


@shared_task(name="sellers.tasks.send_enrollment_email", acks_late=True)
def send_enrollment_email(event_id: int) -> None:
    """Emails the seller about an enrollment event; sent at most once per event."""
    event = EnrollmentEvent.objects.select_related("seller__store").filter(pk=event_id).first()
    if event is None or event.emailed_at is not None:
        return
    recipients = event.seller.notification_emails()
    if recipients:
        send_templated_email(
            to=recipients,
            template=TEMPLATES[event.kind],
            context={"event": event, "seller": event.seller},
            language=event.seller.store.language,
        )
    event.emailed_at = timezone.now()
    event.save(update_fields=["emailed_at"])


@shared_task(name="sellers.tasks.evaluate_assurance")
def evaluate_assurance() -> dict:
    """Daily: brings every seller's eligibility to today and enrolls or removes."""
    return assurance_evaluate()
