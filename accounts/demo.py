"""Demo people for ``seed_demo``: one login for every role."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import STAFF_ROLES, Role


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    role: Role | None  # None: the administrator (superuser)

    @property
    def label(self) -> str:
        return self.role.label if self.role else "Administrator"


DEMO_LOGINS = [
    DemoLogin("admin", "Ada", "Admin", None),
    DemoLogin("specialist.ana", "Ana", "Alvarez", Role.SPECIALIST),
    DemoLogin("specialist.ben", "Ben", "Becker", Role.SPECIALIST),
    DemoLogin("manager.maria", "Maria", "Moreau", Role.MANAGER),
    DemoLogin("seller.sol", "Sol", "Santos", Role.SELLER),
]


def seed_users() -> list[tuple[DemoLogin, User]]:
    """Creates or refreshes the demo logins; their password is ``settings.DEMO_PASSWORD``."""
    seeded = []
    for login in DEMO_LOGINS:
        user, _ = User.objects.update_or_create(
            username=login.username,
            defaults={
                "first_name": login.first_name,
                "last_name": login.last_name,
                "email": f"{login.username}@demo.aha-desk.test",
                "is_staff": login.role is None or login.role in STAFF_ROLES,
                "is_superuser": login.role is None,
                "is_active": True,
            },
        )
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
        if login.role is not None:
            user.groups.set([Group.objects.get(name=login.role)])
        seeded.append((login, user))
    return seeded
