"""The twelve stores (US and CA with AHA switched on) and what each role may do here."""

from django.db import migrations

from accounts.migration_helpers import grant_permissions, revoke_permissions

STORES = [
    ("US", "United States", "America/Los_Angeles", "en", True),
    ("CA", "Canada", "America/Toronto", "en", True),
    ("FR", "France", "Europe/Paris", "fr", False),
    ("DE", "Germany", "Europe/Berlin", "de", False),
    ("IT", "Italy", "Europe/Rome", "it", False),
    ("ES", "Spain", "Europe/Madrid", "es", False),
    ("NL", "Netherlands", "Europe/Amsterdam", "nl", False),
    ("PL", "Poland", "Europe/Warsaw", "pl", False),
    ("SE", "Sweden", "Europe/Stockholm", "sv", False),
    ("BE", "Belgium", "Europe/Brussels", "fr", False),
    ("UK", "United Kingdom", "Europe/London", "en", False),
    ("TR", "Türkiye", "Europe/Istanbul", "tr", False),
]

VIEW_ALL = [
    ("sellers", model, f"view_{model}")
    for model in (
        "store",
        "seller",
        "emergencycontact",
        "accounthealthsnapshot",
        "violation",
        "assurancestate",
        "enrollmentevent",
    )
]
GRANTS = {
    "specialists": VIEW_ALL,
    "managers": [
        *VIEW_ALL,
        ("sellers", "store", "change_store"),
        ("sellers", "seller", "change_seller"),
        ("sellers", "violation", "add_violation"),
        ("sellers", "violation", "change_violation"),
    ],
    "upstream": [("sellers", "seller", "push_feed")],
}


def forwards(apps, schema_editor):
    store_model = apps.get_model("sellers", "Store")
    for code, name, time_zone, language, aha_enabled in STORES:
        store_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "time_zone": time_zone,
                "language": language,
                "aha_enabled": aha_enabled,
            },
        )
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)
    apps.get_model("auth", "Group").objects.filter(name="upstream").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sellers", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
