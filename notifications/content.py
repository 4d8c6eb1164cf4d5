"""What an attempt says: email templates and context, the text message, the call's words.

Everything a seller reads or hears is in the seller's store language where a
translation exists (``locale/<lang>``); specialists get English.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from notifications.models import ContactAttempt

# Voices for <Say>: the language a store's sellers hear.
VOICE_LANGUAGES = {"en": "en-US", "de": "de-DE"}

EMAIL_TEMPLATES = {
    ContactAttempt.Purpose.OUTREACH: "notifications/emails/outreach",
    ContactAttempt.Purpose.DEADLINE_WARNING: "notifications/emails/deadline_warning",
    ContactAttempt.Purpose.INACTIVITY_WARNING: "notifications/emails/inactivity_warning",
}


def context_for(attempt: ContactAttempt) -> dict:
    case = attempt.case
    seller = case.seller
    hours_left = None
    if case.reach_deadline:
        hours_left = max(
            0, round((case.reach_deadline - attempt.created_at).total_seconds() / 3600)
        )
    return {
        "attempt": attempt,
        "case": case,
        "seller": seller,
        "hours_left": hours_left,
        "portal_url": settings.PUBLIC_BASE_URL
        + reverse("sellers:account_health", args=[seller.seller_id]),
        "case_url": settings.PUBLIC_BASE_URL + reverse("cases:detail", args=[case.pk]),
        "inactivity_days": settings.AHA["INACTIVITY_WARN_DAYS"],
        "grace_days": settings.AHA["INACTIVITY_GRACE_DAYS"],
    }


def email_for(attempt: ContactAttempt) -> tuple[str, dict]:
    return EMAIL_TEMPLATES[attempt.purpose], context_for(attempt)


def sms_for(attempt: ContactAttempt) -> str:
    with translation.override(attempt.language):
        text = render_to_string("notifications/sms/outreach.txt", context_for(attempt))
    return " ".join(text.split())


def call_script(attempt: ContactAttempt, part: str) -> str:
    """The words of the call: ``intro`` (press 1), ``voicemail``, ``connecting``, ``missed``."""
    with translation.override(attempt.language):
        text = render_to_string(f"notifications/call/{part}.txt", context_for(attempt))
    return " ".join(text.split())


def voice_language(attempt: ContactAttempt) -> str:
    return VOICE_LANGUAGES.get(attempt.language, "en-US")
