"""Forms of the seller portal."""

import phonenumbers
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from sellers.models import CALLABLE_NUMBER_TYPES, PhoneVerification


class EmergencyContactForm(forms.Form):
    """A new emergency contact number: E.164 and able to take a call (docs/domain.md rule 4)."""

    phone = PhoneNumberField(
        label="New emergency contact number",
        # E.164 has at most 15 digits; room for the spaces and dashes people type.
        max_length=40,
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


class VerificationSendForm(forms.Form):
    """Which way the one-time code should go: a text or a voice call."""

    channel = forms.ChoiceField(
        choices=PhoneVerification.Channel.choices,
        error_messages={
            "required": "Choose a text message (SMS) or a voice call.",
            "invalid_choice": "Choose a text message (SMS) or a voice call.",
        },
    )


class VerificationCheckForm(forms.Form):
    """The code the seller received; its format and rightness are the service's to judge."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from the text or the call.",
        error_messages={"required": "Enter the 6-digit code we sent you."},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "size": 8,
            }
        ),
    )
