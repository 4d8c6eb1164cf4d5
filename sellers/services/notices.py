"""The seller's notification centre: posting, reading, and the emails that go with it.

Every app that has news for a seller posts it here (``notification_post``); the portal's
bell and page read it (``sellers.selectors``). A notification is written in the
seller's store language when it is posted. Whether it is also emailed is the poster's
call (``email=True``) and the seller's preferences' (read when the email is sent);
urgent kinds are emailed regardless (``SellerNotification.URGENT_KINDS``).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from config.errors import InvalidInput
from config.tasks import enqueue_on_commit
from sellers import staging
from sellers.models import NotificationPreferences, Seller, SellerNotification
from sellers.tasks import send_notification_emails
from sellers.validators import text_problem


def notification_post(
    *,
    seller: Seller,
    kind: str,
    title: str,
    body: str,
    link: str = "",
    email: bool = False,
    dedupe_key: str | None = None,
    at: dt.datetime | None = None,
) -> SellerNotification:
    """Posts one notification (once per ``dedupe_key``), and queues its email if asked."""
    if dedupe_key and (
        existing := SellerNotification.objects.filter(dedupe_key=dedupe_key).first()
    ):
        return existing
    try:
        with transaction.atomic():
            notice = SellerNotification.objects.create(
                seller=seller,
                kind=kind,
                title=title[:200],
                body=body[:2_000],
                link=link,
                dedupe_key=dedupe_key,
                email_wanted=email,
                created_at=at or timezone.now(),
            )
    except IntegrityError:
        # The same news posted at the same moment by another worker.
        if dedupe_key:
            return SellerNotification.objects.get(dedupe_key=dedupe_key)
        raise
    if email:
        enqueue_on_commit(send_notification_emails)
    return notice


def portal_link(seller: Seller) -> str:
    """Where a notification sends the seller: their account health page."""
    return reverse("portal:account_health", args=[seller.seller_id])


def _portal_link_parts() -> tuple[str, str]:
    """The account health page's path around the seller id, for SQL to join it in."""
    before, after = reverse("portal:account_health", args=["SELLER"]).split("SELLER")
    return before, after


def notifications_post_set(
    *,
    rows: str,
    kind: str,
    title: str,
    body: str,
    dedupe: str,
    now: dt.datetime,
    email: bool = False,
    params: dict | None = None,
) -> int:
    """Posts notifications set-based, one per row of ``rows``; returns how many.

    ``rows`` is a ``FROM ... WHERE ...`` clause in which the seller is ``s``
    (``sellers_seller``); ``title``, ``body`` and ``dedupe`` are SQL expressions over those
    rows, their values as ``%(name)s`` in ``params``. Each notification links to the
    seller's account health page, and a ``dedupe`` key posted already posts nothing. The
    caller queues ``send_notification_emails`` on commit when ``email`` is set.
    """
    before, after = _portal_link_parts()
    return staging.execute(
        f"""INSERT INTO {SellerNotification._meta.db_table} (seller_id, kind, title, body,
                link, dedupe_key, created_at, read_at, email_wanted, emailed_at)
            SELECT s.id, %(notice_kind)s, {title}, {body},
                %(link_before)s || s.seller_id || %(link_after)s, {dedupe}, %(notice_at)s,
                NULL, %(notice_email)s, NULL
            {rows}
            ON CONFLICT DO NOTHING""",
        {
            **(params or {}),
            "notice_kind": kind,
            "link_before": before,
            "link_after": after,
            "notice_at": staging.db_datetime(now),
            "notice_email": email,
        },
    )


def notifications_mark_read(
    *, seller: Seller, ids: list[int] | None = None, at: dt.datetime | None = None
) -> int:
    """Marks the seller's notifications read (those of ``ids``, or all); returns how many."""
    unread = SellerNotification.objects.filter(seller=seller, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=at or timezone.now())


def _email_kind_fields(email: dict[str, object], errors: dict[str, list[str]]) -> dict:
    """The preference fields for ``{kind: on?}``; problems go into ``errors`` by kind."""
    fields = {}
    for kind, wanted in email.items():
        field = NotificationPreferences.OPTIONAL_KINDS.get(kind)
        if field is None:
            if kind in SellerNotification.URGENT_KINDS:
                errors[kind] = [f"{kind} emails are urgent and always sent."]
            else:
                known = ", ".join(NotificationPreferences.OPTIONAL_KINDS)
                errors[kind] = [f"No kind of notification is called {kind!r}; use {known}."]
        elif not isinstance(wanted, bool):
            errors[kind] = ["Must be true or false."]
        else:
            fields[field] = wanted
    return fields


def notification_preferences_set(
    *, seller: Seller, second_email: str | None = None, email: dict[str, bool] | None = None
) -> NotificationPreferences:
    """Saves a seller's email choices: per optional kind on or off, and a second address.

    Urgent kinds cannot be switched off (InvalidInput naming the kind); the second address
    must differ from the programme address.
    """
    errors: dict[str, list[str]] = {}
    fields = _email_kind_fields(email or {}, errors)
    if second_email is not None:
        second_email = second_email.strip()
        if problem := text_problem(second_email):
            errors["second_email"] = [problem]
        elif second_email and seller.email and second_email.lower() == seller.email.lower():
            errors["second_email"] = ["This is already the address we write to."]
        else:
            fields["second_email"] = second_email
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        preferences, _created = NotificationPreferences.objects.select_for_update().get_or_create(
            seller=seller
        )
        for field, value in fields.items():
            setattr(preferences, field, value)
        try:
            preferences.full_clean(exclude=["seller"])
        except ValidationError as error:
            raise InvalidInput(error.message_dict) from None
        preferences.save()
    return preferences
