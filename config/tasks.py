"""Shared task helpers: queue side effects after commit; a broker outage only delays them."""

import logging

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: object) -> None:
    """Queues ``task`` once the transaction commits; a broker outage only delays it.

    The work a task does is recorded in the database first (an unsent event, a due
    timer), and a periodic sweep picks up what never reached a worker, so a failure to
    queue is logged, not raised into a request that has already committed.
    """

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:
            logger.warning(
                "Could not queue %s%r; the periodic sweep will pick it up.",
                task.name,
                args,
                exc_info=True,
            )

    transaction.on_commit(send)
