"""The desk may read band changes, notifications and preferences (read-only in admin)."""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

VIEW = [
    ("sellers", model, f"view_{model}")
    for model in ("bandchange", "sellernotification", "notificationpreferences")
]
GRANTS = {"specialists": VIEW, "managers": VIEW}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("sellers", "0008_bands_and_notifications")]

    operations = [migrations.RunPython(forwards, backwards)]
