"""The emergency contact: change it, verify it (docs/domain.md rule 4)."""

from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from sellers.models import EmergencyContact, Seller
from sellers.services.assurance import assurance_evaluate


def emergency_contact_set(
    *,
    seller: Seller,
    phone: str,
    verified_by: str | None = None,
    user=None,
) -> EmergencyContact:
    """Sets the number; a new number is unverified unless ``verified_by`` says who verified it.

    Setting the same number again keeps its verification.
    """
    with transaction.atomic():
        contact = EmergencyContact.objects.select_for_update().filter(seller=seller).first()
        if contact is None:
            contact = EmergencyContact(seller=seller)
        # Compare numbers, not spellings: "+1 415 555 0103" is "+14155550103".
        try:
            number = PhoneNumber.from_string(str(phone))
        except NumberParseException:
            number = phone  # full_clean below names the problem
        changed = contact.phone != number
        contact.phone = number
        if verified_by:
            contact.verified_at = timezone.now()
            contact.verified_by = verified_by
            contact.verified_by_user = user
        elif changed:
            contact.verified_at = None
            contact.verified_by = ""
            contact.verified_by_user = None
        contact.full_clean(exclude=["seller"])
        contact.save()
        assurance_evaluate(seller_ids=[seller.pk])
    return contact
