"""Forms of the seller portal."""

import phonenumbers
from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from sellers.models import (
    CALLABLE_NUMBER_TYPES,
    NotificationPreferences,
    PhoneVerification,
    SellerNotification,
)


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


class NotificationPreferencesForm(forms.Form):
    """Email on or off per optional kind of notification, and a second address.

    The urgent kinds (``SellerNotification.URGENT_KINDS``) are not fields: they are always
    emailed and the page shows them as such. Whether a choice may be saved is
    ``notification_preferences_set``'s to judge.
    """

    second_email = forms.EmailField(
        label=_("Second email address (optional)"),
        required=False,
        max_length=254,
        help_text=_("We also send every email to this address. Leave empty for none."),
        error_messages={"invalid": _("Enter a valid email address, e.g. name@example.com.")},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for kind, field in NotificationPreferences.OPTIONAL_KINDS.items():
            self.fields[field] = forms.BooleanField(
                label=SellerNotification.Kind(kind).label, required=False
            )

    @classmethod
    def initial_for(cls, preferences: NotificationPreferences) -> dict[str, object]:
        initial: dict[str, object] = {"second_email": preferences.second_email}
        for field in NotificationPreferences.OPTIONAL_KINDS.values():
            initial[field] = getattr(preferences, field)
        return initial

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[field] for field in NotificationPreferences.OPTIONAL_KINDS.values()]

    def email_choices(self) -> dict[str, bool]:
        """``{kind: on?}`` of the submitted form, for ``notification_preferences_set``."""
        return {
            str(kind): self.cleaned_data[field]
            for kind, field in NotificationPreferences.OPTIONAL_KINDS.items()
        }

    def field_for(self, name: str) -> str | None:
        """The form field of a service's error key (a field, or a kind), else None."""
        if name in self.fields:
            return name
        return NotificationPreferences.OPTIONAL_KINDS.get(name)
