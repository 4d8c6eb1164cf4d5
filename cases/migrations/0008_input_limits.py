"""Issue 9: text limits (max_length) and the upstream id character set. No SQL on PostgreSQL."""

import sellers.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0007_correct_case_permission'),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='escalation_note',
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AlterField(
            model_name='case',
            name='evidence',
            field=models.TextField(blank=True, max_length=20000),
        ),
        migrations.AlterField(
            model_name='case',
            name='resolution_reason',
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AlterField(
            model_name='case',
            name='upstream_id',
            field=models.CharField(blank=True, help_text="The upstream system's id of the issue: the same issue twice is one case.", max_length=100, null=True, unique=True, validators=[sellers.validators.validate_upstream_id]),
        ),
        migrations.AlterField(
            model_name='casenote',
            name='text',
            field=models.TextField(max_length=10000),
        ),
        migrations.AlterField(
            model_name='remediationstep',
            name='text',
            field=models.TextField(max_length=500),
        ),
    ]
