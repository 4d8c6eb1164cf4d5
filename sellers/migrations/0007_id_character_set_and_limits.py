"""Issue 9: the seller and upstream id character set, the description limit. No SQL on PostgreSQL."""

import sellers.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sellers', '0006_violation_upstream'),
    ]

    operations = [
        migrations.AlterField(
            model_name='seller',
            name='seller_id',
            field=models.CharField(help_text="The marketplace's id of the seller: the public key in the API. Letters, digits and . _ : -, starting with a letter or digit.", max_length=64, unique=True, validators=[sellers.validators.validate_seller_id], verbose_name='seller id'),
        ),
        migrations.AlterField(
            model_name='violation',
            name='description',
            field=models.TextField(blank=True, max_length=5000),
        ),
        migrations.AlterField(
            model_name='violation',
            name='upstream_id',
            field=models.CharField(blank=True, help_text="The upstream system's id of the violation; the feed upserts by it.", max_length=100, null=True, unique=True, validators=[sellers.validators.validate_upstream_id]),
        ),
    ]
