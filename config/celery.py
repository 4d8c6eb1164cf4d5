"""The Celery application: tasks are autodiscovered in every app's ``tasks.py``.

The beat schedule is ``CELERY_BEAT_SCHEDULE`` in settings.
"""

import os

from celery import Celery

from config.env import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("aha_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _stop_on_bad_environment(sender: Celery, **kwargs: object) -> None:
    load_settings_or_exit()
