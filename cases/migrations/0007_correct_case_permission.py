"""Corrections of a case's description are a permission of their own, given to managers."""

from django.db import migrations, models

from accounts.migration_helpers import grant_permissions, revoke_permissions

GRANTS = {"managers": [("cases", "case", "correct_case")]}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_deadline_warning_permission"),
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
                    (
                        "correct_case",
                        "Can correct the summary, evidence, severity and policy area",
                    ),
                ]
            },
        ),
        migrations.AlterField(
            model_name="caseevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("transition", "Transition"),
                    ("note", "Note"),
                    ("assignment", "Assignment"),
                    ("step_added", "Plan step added"),
                    ("step_done", "Plan step done"),
                    ("opened", "Opened"),
                    ("warning", "Warning"),
                    ("outreach", "Outreach"),
                    ("correction", "Correction"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
