from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Daily housekeeping: drop sign-in sessions that have expired."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
