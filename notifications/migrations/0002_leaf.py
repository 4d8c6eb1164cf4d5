"""Attempts say what they are about through a generic link, not a foreign key to cases.

``case_id`` becomes ``(subject_type, subject_id)`` with the rows kept; the content of
each message is stored on the attempt when it is decided.
"""

import django.db.models.deletion
from django.db import migrations, models


def case_to_subject(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    attempt = apps.get_model("notifications", "ContactAttempt")
    if not attempt.objects.filter(case__isnull=False).exists():
        return
    case_type, _ = content_type.objects.get_or_create(app_label="cases", model="case")
    attempt.objects.filter(case__isnull=False).update(
        subject_type=case_type, subject_id=models.F("case_id")
    )


def subject_to_case(apps, schema_editor):
    attempt = apps.get_model("notifications", "ContactAttempt")
    attempt.objects.filter(
        subject_type__app_label="cases", subject_type__model="case"
    ).update(case_id=models.F("subject_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactattempt",
            name="subject_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="subject_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(case_to_subject, subject_to_case),
        migrations.RemoveIndex(model_name="contactattempt", name="attempt_case_idx"),
        migrations.RemoveField(model_name="contactattempt", name="case"),
        migrations.AddIndex(
            model_name="contactattempt",
            index=models.Index(
                fields=["subject_type", "subject_id", "created_at"], name="attempt_subject_idx"
            ),
        ),
        migrations.AlterField(
            model_name="contactattempt",
            name="purpose",
            field=models.CharField(max_length=32),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="email_subject",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="body",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="html_body",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="twiml_route",
            field=models.CharField(
                blank=True, help_text="URL name of the view that answers the call.", max_length=64
            ),
        ),
    ]
