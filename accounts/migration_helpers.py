"""Helpers for data migrations that give roles their permissions.

Django creates model permissions only after *all* migrations ran (``post_migrate``),
so a data migration that grants them must create any that are missing itself.
"""

from typing import Any

from django.db.migrations.state import StateApps


def grant_permissions(apps: StateApps, grants: dict[str, list[tuple[str, str, str]]]) -> None:
    """Give each group its permissions: ``{"managers": [("accounts", "user", "view_user")]}``.

    Groups, content types and permissions are created when missing; running twice
    changes nothing.
    """
    group_model: Any = apps.get_model("auth", "Group")
    permission_model: Any = apps.get_model("auth", "Permission")
    content_type_model: Any = apps.get_model("contenttypes", "ContentType")
    for group_name, permissions in grants.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        for app_label, model, codename in permissions:
            content_type, _ = content_type_model.objects.get_or_create(
                app_label=app_label, model=model
            )
            permission, _ = permission_model.objects.get_or_create(
                content_type=content_type,
                codename=codename,
                defaults={"name": _default_name(apps, app_label, model, codename)},
            )
            group.permissions.add(permission)


def revoke_permissions(apps: StateApps, grants: dict[str, list[tuple[str, str, str]]]) -> None:
    group_model: Any = apps.get_model("auth", "Group")
    permission_model: Any = apps.get_model("auth", "Permission")
    for group_name, permissions in grants.items():
        group = group_model.objects.filter(name=group_name).first()
        if group is None:
            continue
        for app_label, _model, codename in permissions:
            group.permissions.remove(
                *permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
            )


def _default_name(apps: StateApps, app_label: str, model: str, codename: str) -> str:
    """The name Django itself would give: custom ones from Meta, else "Can <action> <model>"."""
    model_class = apps.get_model(app_label, model)
    for custom_codename, name in model_class._meta.permissions:
        if custom_codename == codename:
            return name
    action = codename.split("_", 1)[0]
    return f"Can {action} {model_class._meta.verbose_name_raw}"
