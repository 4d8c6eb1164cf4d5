"""The three roles as groups, with the pages each may use (docs/domain.md "People")."""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

GRANTS = {
    "specialists": [("accounts", "user", "use_desk")],
    "managers": [
        ("accounts", "user", "use_desk"),
        ("accounts", "user", "view_reports"),
        ("accounts", "user", "view_user"),
    ],
    "sellers": [("accounts", "user", "use_portal")],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)
    apps.get_model("auth", "Group").objects.filter(name__in=GRANTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
