"""The three roles of AHA Desk (docs/domain.md "People") and what each may do.

A role is a Django group created by ``accounts/migrations/0002_roles.py``; each app's
data migrations grant its own permissions to these groups (``grant_permissions``).
Pages check permissions, never group names, so an admin can grant one capability to
one person without inventing a role.
"""

from django.db import models


class Role(models.TextChoices):
    SPECIALIST = "specialists", "Specialist"
    MANAGER = "managers", "Manager"
    SELLER = "sellers", "Seller"
    UPSTREAM = "upstream", "Upstream system"


# Roles whose members work in Django admin too (is_staff); sellers never do.
STAFF_ROLES = {Role.SPECIALIST, Role.MANAGER}
