"""What outreach about a case says: the emails, the text message, the call's words.

Everything a seller reads or hears is in the seller's store language where a
translation exists (``locale/<lang>``); specialists get English. Emails and texts are
rendered when the sweep decides them and stored on the attempt (``notifications`` sends
what it is given); the call's words are rendered when Twilio asks for them.
"""

import datetime as dt

from django.conf import settings
from django.template.loader import select_template
from django.urls import reverse
from django.utils import translation

from cases.models import Case
from cases.selectors import case_open_violations
from config.email import Email, render_email

Purpose = Case.AttemptPurpose

# Voices for <Say>: the language a store's sellers hear.
VOICE_LANGUAGES = {"en": "en-US", "de": "de-DE"}

EMAIL_TEMPLATES = {
    Purpose.OUTREACH: "cases/outreach/emails/outreach",
    Purpose.DEADLINE_WARNING: "cases/outreach/emails/deadline_warning",
    Purpose.INACTIVITY_WARNING: "cases/outreach/emails/inactivity_warning",
    Purpose.HEALTH_WARNING: "cases/outreach/emails/health_warning",
}
# An account-health case says other things: no 72-hour promise, the violations to fix.
ACCOUNT_HEALTH_EMAIL_TEMPLATES = {
    Purpose.OUTREACH: "cases/outreach/emails/account_health",
}
# The open violations a message lists, those that cost the most AHR points first.
TOP_VIOLATIONS = 5


def top_violations(case: Case) -> list:
    return list(case_open_violations(case)[:TOP_VIOLATIONS])


def context_for(case: Case, *, at: dt.datetime) -> dict:
    """What the templates may use; ``at`` is when the message was decided."""
    seller = case.seller
    hours_left = None
    if case.reach_deadline:
        hours_left = max(0, round((case.reach_deadline - at).total_seconds() / 3600))
    return {
        "case": case,
        "seller": seller,
        "hours_left": hours_left,
        "portal_url": settings.PUBLIC_BASE_URL
        + reverse("portal:account_health", args=[seller.seller_id]),
        "case_url": settings.PUBLIC_BASE_URL + reverse("cases:detail", args=[case.pk]),
        "inactivity_days": settings.AHA["INACTIVITY_WARN_DAYS"],
        "grace_days": settings.AHA["INACTIVITY_GRACE_DAYS"],
        "violations": top_violations(case) if case.is_account_health else [],
        "score": getattr(getattr(seller, "assurance", None), "latest_score", None),
    }


def email_for(case: Case, purpose: str, *, language: str, at: dt.datetime) -> Email:
    template = EMAIL_TEMPLATES[purpose]
    if case.is_account_health:
        template = ACCOUNT_HEALTH_EMAIL_TEMPLATES.get(purpose, template)
    return render_email(template=template, context=context_for(case, at=at), language=language)


def _text(template: str, case: Case, *, language: str, at: dt.datetime) -> str:
    """Renders the account-health version of ``template`` for such a case, where one exists."""
    folder, name = template.rsplit("/", 1)
    names = [f"{folder}/account_health/{name}", template] if case.is_account_health else [template]
    with translation.override(language):
        text = select_template(names).render(context_for(case, at=at))
    return " ".join(text.split())


def sms_for(case: Case, *, language: str, at: dt.datetime) -> str:
    return _text("cases/outreach/sms/outreach.txt", case, language=language, at=at)


def call_script(case: Case, part: str, *, language: str, at: dt.datetime) -> str:
    """The words of the call: ``intro`` (press 1), ``voicemail``, ``connecting``, ``missed``,
    ``no_specialist``, ``whisper`` (what the specialist hears)."""
    return _text(f"cases/outreach/call/{part}.txt", case, language=language, at=at)


def voice_language(language: str) -> str:
    return VOICE_LANGUAGES.get(language, "en-US")
