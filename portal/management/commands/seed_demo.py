"""``manage.py seed_demo``: the demo of the whole product (logins, sellers, specialists, cases).

It lives in the top app because it seeds every app below it (CONVENTIONS: the app graph).
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import seed_users
from cases.demo import seed_cases
from config.celery import app as celery_app
from sellers.demo import seed_sellers
from sellers.models import AssuranceState


@contextmanager
def tasks_inline() -> Iterator[None]:
    """Runs the tasks the demo queues (enrollment emails) in this process.

    ``make run`` seeds before it starts Redis and the worker, so there is no broker to
    queue them on yet; inline, they reach the email backend (the console locally) at once.
    """
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


class Command(BaseCommand):
    help = "Loads demo data and prints the demo logins. Safe to run again: nothing is duplicated."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo creates logins with a published password and is switched off "
                "in these settings (DEMO_DATA_ALLOWED is False)."
            )
        # The console email backend writes to stdout: keep the demo's emails out of the
        # list of logins that `make run` shows.
        with tasks_inline(), redirect_stdout(sys.stderr), transaction.atomic():
            users = seed_users()
            sellers = seed_sellers()
            cases = seed_cases()
        self.stdout.write(self.style.SUCCESS("Demo data is in place. Demo logins:"))
        width = max(len(login.username) for login, _ in users)
        for login, _user in users:
            self.stdout.write(
                f"  {login.label:<14} {login.username:<{width}}  password: {settings.DEMO_PASSWORD}"
            )
        self.stdout.write("Demo sellers (the admin opens any of them at /portal/sellers/<id>/):")
        enrolled = set(
            AssuranceState.objects.filter(enrolled=True).values_list("seller_id", flat=True)
        )
        name_width = max(len(demo.name) for demo, _ in sellers)
        for demo, seller in sellers:
            status = "enrolled" if seller.pk in enrolled else "not enrolled"
            line = f"  {demo.seller_id}  {demo.name:<{name_width}}  [{status}] {demo.situation}"
            if demo.logins:
                line += f"  login: {', '.join(demo.logins)}"
            self.stdout.write(line)
        self.stdout.write("Demo cases (on the desk at /desk/):")
        for case in cases:
            assured = "72 h promise" if case.assured else "no 72-hour guarantee"
            self.stdout.write(
                f"  #{case.pk:<4} {case.seller.seller_id}  {case.get_status_display():<15} "
                f"{case.get_severity_display():<9} {assured}  → {case.assigned_to or 'team queue'}"
            )
