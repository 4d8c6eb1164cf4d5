"""Deadline warnings go to whoever holds a permission, not to a group by its name."""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

GRANTS = {"managers": [("cases", "case", "receive_deadline_warnings")]}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_specialist_to_staff"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="case",
            options={
                "permissions": [
                    ("reinstate_case", "Can reinstate an escalated case"),
                    ("assign_case", "Can assign cases to specialists"),
                    ("open_case", "Can open cases"),
                    ("receive_deadline_warnings", "Gets the deadline warnings of every case"),
                ]
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
