"""Email through Django's email framework: text and HTML templates, in the reader's language."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def send_templated_email(*, to: list[str], template: str, context: dict, language: str) -> None:
    """Renders ``<template>_subject.txt``, ``.txt`` and ``.html`` and sends one message.

    The seller's language is used where a translation exists, English otherwise.
    """
    with translation.override(language if language in dict(settings.LANGUAGES) else "en"):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
