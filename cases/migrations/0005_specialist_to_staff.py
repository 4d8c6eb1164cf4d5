"""``Specialist`` now lives in ``staff``; its table stays (see staff/migrations/0001)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_timers"),
        ("staff", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Specialist")],
            database_operations=[],
        ),
    ]
