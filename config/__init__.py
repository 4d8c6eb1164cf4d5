# The Celery app is loaded with Django so that tasks queued from web processes use it.
from .celery import app as celery_app

__all__ = ("celery_app",)
