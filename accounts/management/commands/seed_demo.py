from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import seed_users


class Command(BaseCommand):
    help = "Loads demo data and prints the demo logins. Safe to run again: nothing is duplicated."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError(
                "seed_demo creates logins with a published password and is switched off "
                "in these settings (DEMO_DATA_ALLOWED is False)."
            )
        with transaction.atomic():
            users = seed_users()
        self.stdout.write(self.style.SUCCESS("Demo data is in place. Demo logins:"))
        width = max(len(login.username) for login, _ in users)
        for login, _user in users:
            self.stdout.write(
                f"  {login.label:<14} {login.username:<{width}}  password: {settings.DEMO_PASSWORD}"
            )
