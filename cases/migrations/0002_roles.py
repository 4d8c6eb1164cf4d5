"""What each role may do with cases (docs/domain.md "People").

Specialist profiles moved to the staff app; their grants are in staff/migrations/0002_roles.py.
"""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

SPECIALIST = [
    ("cases", "case", "view_case"),
    ("cases", "case", "change_case"),
    ("cases", "caseevent", "view_caseevent"),
    ("cases", "casenote", "view_casenote"),
    ("cases", "casenote", "add_casenote"),
    ("cases", "remediationstep", "view_remediationstep"),
    ("cases", "remediationstep", "add_remediationstep"),
    ("cases", "remediationstep", "change_remediationstep"),
    ("cases", "case", "open_case"),
]
GRANTS = {
    "specialists": SPECIALIST,
    "managers": [
        *SPECIALIST,
        ("cases", "case", "reinstate_case"),
        ("cases", "case", "assign_case"),
    ],
    "upstream": [("cases", "case", "open_case")],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("sellers", "0002_stores_and_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
