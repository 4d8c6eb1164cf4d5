from django.contrib.auth.models import AbstractUser

from accounts.roles import Role


class User(AbstractUser):
    """A person who signs in: specialist, manager, seller or administrator.

    What a user may see and do comes from the permissions of their role's group
    (see ``accounts.roles``).
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [
            ("use_desk", "Can work cases on the specialist desk"),
            ("view_reports", "Can read SLA reports"),
            ("use_portal", "Can use the seller portal"),
        ]

    def has_role(self, role: Role) -> bool:
        return self.groups.filter(name=role).exists()

    @property
    def role_names(self) -> list[str]:
        return [Role(group.name).label for group in self.groups.all() if group.name in Role.values]
