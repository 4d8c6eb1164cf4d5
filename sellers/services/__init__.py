"""Writes that carry the sellers' business rules; see each module."""

from sellers.services.assurance import assurance_evaluate, seller_enroll, seller_remove, seller_warn
from sellers.services.contacts import emergency_contact_set
from sellers.services.feed import ahr_ingest, seller_upsert
from sellers.services.violations import violation_upsert_many

__all__ = [
    "ahr_ingest",
    "assurance_evaluate",
    "emergency_contact_set",
    "seller_enroll",
    "seller_remove",
    "seller_upsert",
    "seller_warn",
    "violation_upsert_many",
]
