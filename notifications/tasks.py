"""Delivery of contact attempts (see notifications.services)."""

from celery import shared_task


# acks_late is safe: delivering claims the attempt with a conditional update, so a task
# delivered again after a worker died sends nothing twice.
@shared_task(name="notifications.tasks.deliver_attempt", acks_late=True, ignore_result=True)
def deliver_attempt(attempt_id: int) -> None:
    from notifications.services import attempt_deliver

    attempt_deliver(attempt_id)
