"""What each role may do with specialist profiles: everyone on the desk reads, managers edit."""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

GRANTS = {
    "specialists": [("staff", "specialist", "view_specialist")],
    "managers": [
        ("staff", "specialist", "view_specialist"),
        ("staff", "specialist", "change_specialist"),
    ],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("staff", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
