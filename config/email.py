"""Email through Django's email framework: text and HTML templates, in the reader's language.

Shared by every app that writes to people: ``render_email`` turns a template family
(``<template>_subject.txt``, ``.txt`` and ``.html``) into a message in the reader's
language, ``send_email`` sends one.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def render_email(*, template: str, context: dict, language: str) -> Email:
    """The message in ``language`` where a translation exists, English otherwise."""
    with translation.override(language if language in dict(settings.LANGUAGES) else "en"):
        return Email(
            subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
            text=render_to_string(f"{template}.txt", context),
            html=render_to_string(f"{template}.html", context),
        )


def send_email(*, to: list[str], email: Email) -> None:
    message = EmailMultiAlternatives(subject=email.subject, body=email.text, to=to)
    if email.html:
        message.attach_alternative(email.html, "text/html")
    message.send()


def send_templated_email(*, to: list[str], template: str, context: dict, language: str) -> None:
    """Renders the template family in ``language`` and sends one message."""
    send_email(to=to, email=render_email(template=template, context=context, language=language))
