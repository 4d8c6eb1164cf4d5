"""Bands, band changes, the notification centre and its preferences (issue 15).

Existing states take the band of their latest value as it stands, recorded as no
change: the first evaluation after the upgrade opens account-health cases only for
sellers who then move out of Healthy, not for everyone already below it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sellers', '0007_id_character_set_and_limits'),
    ]

    operations = [
        migrations.CreateModel(
            name='NotificationPreferences',
            fields=[
                ('seller', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='notification_preferences', serialize=False, to='sellers.seller')),
                ('second_email', models.EmailField(blank=True, help_text='Also send every email we send to this address.', max_length=254)),
                ('email_enrollment', models.BooleanField(default=True, verbose_name='Enrollment and removal')),
                ('email_account_health', models.BooleanField(default=True, verbose_name='Account health cases')),
                ('email_plan_step', models.BooleanField(default=True, verbose_name='Plan steps due soon')),
                ('email_violation', models.BooleanField(default=True, verbose_name='New policy violations')),
                ('email_band_change', models.BooleanField(default=True, verbose_name='Rating band changes')),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name_plural': 'notification preferences',
            },
        ),
        migrations.AddField(
            model_name='assurancestate',
            name='band',
            field=models.CharField(blank=True, choices=[('healthy', 'Healthy'), ('at_risk', 'At Risk'), ('unhealthy', 'Unhealthy')], max_length=16),
        ),
        migrations.AddField(
            model_name='assurancestate',
            name='band_since',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='BandChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_band', models.CharField(blank=True, choices=[('healthy', 'Healthy'), ('at_risk', 'At Risk'), ('unhealthy', 'Unhealthy')], help_text='Empty: the first value.', max_length=16)),
                ('to_band', models.CharField(choices=[('healthy', 'Healthy'), ('at_risk', 'At Risk'), ('unhealthy', 'Unhealthy')], max_length=16)),
                ('score', models.PositiveSmallIntegerField()),
                ('effective_on', models.DateField(help_text='The day of the value that moved the band.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('seller', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='band_changes', to='sellers.seller')),
            ],
            options={
                'ordering': ['-effective_on', '-id'],
                'indexes': [models.Index(fields=['seller', '-effective_on'], name='band_change_seller_idx')],
            },
        ),
        migrations.CreateModel(
            name='SellerNotification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('enrollment', 'Enrollment and removal'), ('critical_case', 'Critical policy cases'), ('account_health', 'Account health cases'), ('plan_step', 'Plan steps due soon'), ('callback', 'Call Me Now'), ('violation', 'New policy violations'), ('band_change', 'Rating band changes')], max_length=24)),
                ('title', models.CharField(max_length=200)),
                ('body', models.TextField(help_text='Why it matters and what to do.', max_length=2000)),
                ('link', models.CharField(blank=True, help_text='A path on this site.', max_length=300)),
                ('dedupe_key', models.CharField(blank=True, max_length=120, null=True, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('read_at', models.DateTimeField(blank=True, null=True)),
                ('email_wanted', models.BooleanField(default=False)),
                ('emailed_at', models.DateTimeField(blank=True, null=True)),
                ('seller', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='sellers.seller')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['seller', '-created_at', '-id'], name='notice_seller_idx'), models.Index(condition=models.Q(('read_at__isnull', True)), fields=['seller'], name='notice_unread_idx'), models.Index(condition=models.Q(('email_wanted', True), ('emailed_at__isnull', True)), fields=['created_at'], name='notice_email_pending_idx')],
            },
        ),
        migrations.RunSQL(
            """UPDATE sellers_assurancestate SET
                   band = CASE WHEN latest_score >= 200 THEN 'healthy'
                               WHEN latest_score >= 100 THEN 'at_risk' ELSE 'unhealthy' END,
                   band_since = latest_snapshot_on
               WHERE latest_score IS NOT NULL""",
            migrations.RunSQL.noop,
        ),
    ]
