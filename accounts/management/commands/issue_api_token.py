from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.roles import Role


class Command(BaseCommand):
    help = (
        "Prints a new API token. With NAME alone: for an upstream system (user "
        "'upstream.NAME', which may write the seller and AHR feed). With --user: a token "
        "that acts as that existing user, with that user's roles. Issuing again replaces "
        "the previous token."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the token is for, e.g. health-feed.")
        parser.add_argument("--user", dest="username", help="Act as this existing user.")

    def handle(self, *args: object, name: str, username: str | None, **options: object) -> None:
        with transaction.atomic():
            if username:
                user = User.objects.filter(username=username).first()
                if user is None:
                    raise CommandError(f"--user: no user is called {username!r}")
                if not user.is_active:
                    raise CommandError(f"--user: {username!r} is deactivated")
            else:
                slug = slugify(name)
                if not slug:
                    raise CommandError(f"NAME: {name!r} has no letters or digits to name a user")
                user, created = User.objects.get_or_create(
                    username=f"upstream.{slug}", defaults={"first_name": name[:150]}
                )
                if created:
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=Role.UPSTREAM))
            Token.objects.filter(user=user).delete()
            token = Token.objects.create(user=user)
        self.stderr.write(
            f"Token for {user.username} (any earlier token of this user no longer works):"
        )
        self.stdout.write(token.key)
