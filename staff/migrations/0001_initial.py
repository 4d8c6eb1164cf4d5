"""``Specialist`` moves here from ``cases``: the model's state only; its table and rows stay.

The content type is renamed too, so the permissions granted on it (view and change
specialists) keep their holders.
"""

import django.db.models.deletion
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models


def rename_content_type(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="cases", model="specialist").update(app_label="staff")


def restore_content_type(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="staff", model="specialist").update(app_label="cases")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0004_timers"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sellers", "0005_phone_verification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Specialist",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("on_duty", models.BooleanField(default=False)),
                        (
                            "phone",
                            phonenumber_field.modelfields.PhoneNumberField(
                                blank=True,
                                help_text="Where a seller's answered call is connected (E.164).",
                                max_length=128,
                                region=None,
                            ),
                        ),
                        ("time_zone", models.CharField(default="UTC", max_length=64)),
                        (
                            "stores",
                            models.ManyToManyField(
                                blank=True, related_name="specialists", to="sellers.store"
                            ),
                        ),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="specialist",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "cases_specialist"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, restore_content_type),
    ]
