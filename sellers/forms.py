"""Forms of the seller portal."""

import phonenumbers
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from sellers.models import CALLABLE_NUMBER_TYPES


class EmergencyContactForm(forms.Form):
    """A new emergency contact number: E.164 and able to take a call (DESIGN.md rule 4)."""

    phone = PhoneNumberField(
        label="New emergency contact number",
        help_text="In international format with the country code, e.g. +14155550100.",
        error_messages={
            "required": "Enter the number we should call.",
            "invalid": "Enter a valid phone number in international format, e.g. +14155550100.",
        },
    )

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        if phonenumbers.number_type(phone) not in CALLABLE_NUMBER_TYPES:
            raise forms.ValidationError(
                "This number cannot receive calls (for example a toll-free or premium-rate "
                "number). Enter a mobile or landline number.",
                code="not_callable",
            )
        return phone
