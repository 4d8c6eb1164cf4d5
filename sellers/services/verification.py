"""Verifying the emergency contact number with a one-time code (docs/domain.md rule 4, "Channels").

The seller asks for a code by SMS or voice call to their current number and enters it on
the portal; a right code makes the number verified, so it counts for eligibility. Limits
come from ``settings.AHA``: ``VERIFY_MAX_SENDS_PER_HOUR`` codes a rolling hour,
``VERIFY_MAX_WRONG_CODES`` wrong codes per code sent, then a lock-out of
``VERIFY_LOCKOUT_MINUTES`` during which no code is sent or checked. A code is good for
``VERIFY_CODE_VALID_MINUTES`` (10 when unset: Twilio Verify's own default).

The channel (an HTTP call to Twilio) is never made inside a transaction, so a slow
provider holds no lock: a send reserves its row first and deletes it if the channel
fails; a check reserves its try under a row lock on the code and gives it back when the
code was right or the channel failed. Either way a failed channel costs the seller
nothing.

The channel is handed in by the caller (``codes``: the portal passes
``notifications.channels.channels()``), since sellers sit below notifications in the app
graph; any channel that keeps :class:`CodeChannel` and raises
:class:`~config.providers.ProviderError` will do.
"""

import datetime as dt
import logging
import math
import re
import zoneinfo
from dataclasses import dataclass
from typing import Protocol

import phonenumbers
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.logging import mask_contacts
from config.providers import ProviderError
from sellers.models import EmergencyContact, PhoneVerification, Seller
from sellers.services.assurance import assurance_evaluate

logger = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
CODE_LENGTH = 6
# What a seller may type around the digits: "123 456", "123-456".
_CODE_SEPARATORS = re.compile(r"[\s-]")


class CodeAnswer(Protocol):
    sid: str
    status: str  # pending, approved, canceled, max_attempts_reached, expired


class CodeChannel(Protocol):
    """Sends and checks one-time codes; raises ``ProviderError`` when the provider fails."""

    def send_code(self, *, to: str, channel: str) -> CodeAnswer: ...

    def check_code(self, *, to: str, code: str, verification_sid: str) -> CodeAnswer: ...


@dataclass(frozen=True)
class Limits:
    max_wrong_codes: int
    lockout: dt.timedelta
    max_sends_per_hour: int
    code_valid_for: dt.timedelta

    @classmethod
    def current(cls) -> "Limits":
        aha = settings.AHA
        return cls(
            max_wrong_codes=aha["VERIFY_MAX_WRONG_CODES"],
            lockout=dt.timedelta(minutes=aha["VERIFY_LOCKOUT_MINUTES"]),
            max_sends_per_hour=aha["VERIFY_MAX_SENDS_PER_HOUR"],
            code_valid_for=dt.timedelta(minutes=aha.get("VERIFY_CODE_VALID_MINUTES", 10)),
        )


@dataclass(frozen=True)
class VerificationStatus:
    """What the portal shows about verifying the number (``verification_status``)."""

    contact: EmergencyContact | None
    needed: bool  # a callable number on file that is not verified yet
    can_sms: bool
    latest: PhoneVerification | None  # the latest code sent, whatever became of it
    code_pending: bool  # the latest code can still be entered
    code_valid_until: dt.datetime | None
    locked_until: dt.datetime | None
    next_send_at: dt.datetime | None  # set when the hourly limit is reached
    code_valid_minutes: int

    @property
    def can_send(self) -> bool:
        return self.needed and not self.locked_until and not self.next_send_at

    @property
    def masked_phone(self) -> str:
        return masked_for_seller(self.latest.phone) if self.latest else ""


def masked(phone: object) -> str:
    """``+14155550101`` → ``+*********01``, as in the logs."""
    return mask_contacts(str(phone))


LAST_DIGITS_SHOWN = 4


def masked_for_seller(phone: object) -> str:
    """``+14155550199`` → ``(***) ***-0199``: the seller's own number, by its last four digits
    in its country's national format."""
    try:
        number = phonenumbers.parse(str(phone), None)
    except phonenumbers.NumberParseException:
        return masked(phone)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    shown, out = 0, []
    for char in reversed(national):
        if char.isdigit():
            shown += 1
            out.append(char if shown <= LAST_DIGITS_SHOWN else "*")
        else:
            out.append(char)
    return "".join(reversed(out))


def normalize_code(code: str) -> str:
    return _CODE_SEPARATORS.sub("", code or "")


def verification_status(seller: Seller, *, now: dt.datetime | None = None) -> VerificationStatus:
    """The state of verifying ``seller``'s number now: code sent, locked, limit reached."""
    now = now or timezone.now()
    limits = Limits.current()
    contact = EmergencyContact.objects.filter(seller=seller).first()
    latest = _latest_sent(seller).first()
    locked_until = _lock_end(seller, now)
    valid_until = latest.sent_at + limits.code_valid_for if latest else None
    code_pending = bool(
        latest
        and contact is not None
        and latest.phone == contact.phone
        and latest.verified_at is None
        and latest.wrong_attempts < limits.max_wrong_codes
        and now < valid_until
        and not locked_until
    )
    return VerificationStatus(
        contact=contact,
        needed=bool(contact and contact.can_receive_calls and not contact.verified_at),
        can_sms=bool(contact and contact.can_receive_sms),
        latest=latest,
        code_pending=code_pending,
        code_valid_until=valid_until if code_pending else None,
        locked_until=locked_until,
        next_send_at=_next_send_at(seller, now, limits),
        code_valid_minutes=int(limits.code_valid_for.total_seconds() // 60),
    )


def verification_send(
    *, seller: Seller, by: AbstractBaseUser | None, channel: str, codes: CodeChannel
) -> PhoneVerification:
    """Sends a one-time code to the seller's current emergency contact number.

    Refused without a callable, unverified number; by SMS to a number that cannot take
    texts; during a lock-out; and past the hourly limit of codes. A channel failure
    deletes the reserved row, so it does not count against the limit.
    """
    limits = Limits.current()
    if channel not in PhoneVerification.Channel.values:
        raise ValidationError({"channel": "Choose a text message (SMS) or a voice call."})
    now = timezone.now()
    with transaction.atomic():
        # The contact's row lock orders sends after a number change and one another,
        # so two quick presses cannot both pass the hourly count.
        contact = EmergencyContact.objects.select_for_update().filter(seller=seller).first()
        if contact is None or not contact.phone:
            raise ValidationError(
                {"phone": "Add your emergency contact number first; then we can send it a code."}
            )
        if not contact.can_receive_calls:
            raise ValidationError({"phone": contact.problem})
        if contact.verified_at:
            raise ValidationError({"phone": "This number is already verified: nothing to do."})
        if channel == PhoneVerification.Channel.SMS and not contact.can_receive_sms:
            raise ValidationError(
                {
                    "channel": "This number cannot receive text messages (it looks like a "
                    "landline). Choose “Call me with a code”: we call the number and read the "
                    "code out."
                }
            )
        locked_until = _lock_end(seller, now)
        if locked_until:
            raise ValidationError({"channel": _locked_message(seller, locked_until, now)})
        next_send_at = _next_send_at(seller, now, limits)
        if next_send_at:
            raise ValidationError(
                {
                    "channel": f"You have asked for {limits.max_sends_per_hour} codes in the "
                    "last hour, the most we send. You can ask for a new code at "
                    f"{_at(seller, next_send_at, now)}."
                }
            )
        verification = PhoneVerification.objects.create(
            seller=seller, phone=contact.phone, channel=channel, sent_at=now, requested_by=by
        )
    try:
        answer = codes.send_code(to=verification.phone.as_e164, channel=channel)
    except ProviderError as error:
        verification.delete()
        logger.warning(
            "Verification code for seller %s not sent by %s: %s", seller.seller_id, channel, error
        )
        message = (
            "We could not send a code just now, try again in a minute."
            if error.transient
            else "We could not send a code to this number. Check that the number is right, "
            "or try the other way (text or call)."
        )
        raise ValidationError({"channel": message}) from error
    verification.verification_sid = answer.sid
    # Twilio sends the same code again while one is pending: its wrong tries carry over.
    verification.wrong_attempts = max(
        PhoneVerification.objects.filter(seller=seller, verification_sid=answer.sid)
        .exclude(pk=verification.pk)
        .values_list("wrong_attempts", flat=True),
        default=0,
    )
    verification.save(update_fields=["verification_sid", "wrong_attempts"])
    return verification


def verification_check(
    *, seller: Seller, by: AbstractBaseUser | None, code: str, codes: CodeChannel
) -> EmergencyContact:
    """Checks a code against the latest code sent; a right one verifies the number.

    Only the latest code counts, only for the number it went to, only while it is fresh,
    and only before ``VERIFY_MAX_WRONG_CODES`` wrong ones; the last wrong one locks
    verification for ``VERIFY_LOCKOUT_MINUTES``. Re-evaluates the seller's assurance, as
    a change of number does (``emergency_contact_set``).
    """
    code = normalize_code(code)
    if len(code) != CODE_LENGTH or not code.isascii() or not code.isdigit():
        raise ValidationError(
            {"code": f"Enter the {CODE_LENGTH}-digit code we sent you, digits only."}
        )
    limits = Limits.current()
    now = timezone.now()
    with transaction.atomic():
        # Locked so that two quick submissions count as two tries, never get extra ones.
        verification = _latest_sent(seller).select_for_update().first()
        contact = EmergencyContact.objects.filter(seller=seller).first()
        _raise_if_unusable(seller, verification, contact, now, limits)
        verification.wrong_attempts += 1  # reserved; given back if right or unchecked
        verification.save(update_fields=["wrong_attempts"])

    try:
        answer = codes.check_code(
            to=verification.phone.as_e164, code=code, verification_sid=verification.verification_sid
        )
    except ProviderError as error:
        PhoneVerification.objects.filter(pk=verification.pk).update(
            wrong_attempts=F("wrong_attempts") - 1
        )
        logger.warning("Verification code of seller %s not checked: %s", seller.seller_id, error)
        if error.transient:
            message = "We could not check your code just now, try again in a minute."
        else:
            # Twilio answers 404 for a code that expired or was cancelled.
            message = "This code can no longer be checked; it may have expired. Ask for a new code."
        raise ValidationError({"code": message}) from error
    return _record_answer(seller, by, verification.pk, answer.status, limits)


def _record_answer(
    seller: Seller, by: AbstractBaseUser | None, verification_pk: int, status: str, limits: Limits
) -> EmergencyContact:
    """Acts on the channel's answer to a reserved try: verify, or count it wrong and say so."""
    now = timezone.now()
    with transaction.atomic():
        verification = PhoneVerification.objects.select_for_update().get(pk=verification_pk)
        if status in {"approved", "expired", "canceled"}:
            verification.wrong_attempts -= 1  # not a wrong code: give the try back
        if status == "approved":
            contact = EmergencyContact.objects.select_for_update().filter(seller=seller).first()
            if contact is not None and contact.phone == verification.phone:
                verification.verified_at = now
                verification.save(update_fields=["wrong_attempts", "verified_at"])
                contact.verified_at = now
                contact.verified_by = EmergencyContact.VerifiedBy.CODE
                contact.verified_by_user = by
                contact.save(
                    update_fields=["verified_at", "verified_by", "verified_by_user", "updated_at"]
                )
                assurance_evaluate(seller_ids=[seller.pk])
                return contact
            # The number was changed while the code was being checked.
            problem = _number_changed_message(verification, contact)
        elif status in {"expired", "canceled"}:
            problem = _expired_message(limits)
        else:  # "pending": a wrong code; "max_attempts_reached": the provider's own limit
            if status == "max_attempts_reached":
                verification.wrong_attempts = max(
                    verification.wrong_attempts, limits.max_wrong_codes
                )
            tries_left = limits.max_wrong_codes - verification.wrong_attempts
            if tries_left <= 0:
                verification.locked_until = now + limits.lockout
                problem = "That code is not right, and that was the last try. " + _locked_message(
                    seller, verification.locked_until, now
                )
            else:
                problem = (
                    f"That code is not right. You have {tries_left} "
                    f"{'try' if tries_left == 1 else 'tries'} left."
                )
        verification.save(update_fields=["wrong_attempts", "locked_until"])
    raise ValidationError({"code": problem})


def _latest_sent(seller: Seller) -> QuerySet[PhoneVerification]:
    """The seller's codes that reached the channel, latest first (the first one counts)."""
    return (
        PhoneVerification.objects.filter(seller=seller)
        .exclude(verification_sid="")
        .order_by("-sent_at", "-pk")
    )


def _lock_end(seller: Seller, now: dt.datetime) -> dt.datetime | None:
    return (
        PhoneVerification.objects.filter(seller=seller, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )


def _next_send_at(seller: Seller, now: dt.datetime, limits: Limits) -> dt.datetime | None:
    """When the seller may ask for a code again, or None if they may now (a rolling hour)."""
    sent = list(
        PhoneVerification.objects.filter(seller=seller, sent_at__gt=now - HOUR)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    if len(sent) < limits.max_sends_per_hour:
        return None
    return sent[len(sent) - limits.max_sends_per_hour] + HOUR


def _raise_if_unusable(
    seller: Seller,
    verification: PhoneVerification | None,
    contact: EmergencyContact | None,
    now: dt.datetime,
    limits: Limits,
) -> None:
    if verification is None:
        raise ValidationError(
            {"code": "We have not sent you a code yet. Ask for one by text or call first."}
        )
    if verification.locked_until and verification.locked_until > now:
        raise ValidationError({"code": _locked_message(seller, verification.locked_until, now)})
    if verification.wrong_attempts >= limits.max_wrong_codes:
        raise ValidationError(
            {"code": "Too many wrong codes were entered for this code. Ask for a new code."}
        )
    if verification.verified_at:
        raise ValidationError(
            {"code": "This code has already been used. Ask for a new code if you need one."}
        )
    if contact is None or contact.phone != verification.phone:
        raise ValidationError({"code": _number_changed_message(verification, contact)})
    if now >= verification.sent_at + limits.code_valid_for:
        raise ValidationError({"code": _expired_message(limits)})


def _expired_message(limits: Limits) -> str:
    minutes = int(limits.code_valid_for.total_seconds() // 60)
    return f"This code has expired: a code is good for {minutes} minutes. Ask for a new code."


def _number_changed_message(
    verification: PhoneVerification, contact: EmergencyContact | None
) -> str:
    current = f" for {contact.phone.as_international}" if contact is not None else ""
    return (
        f"The last code was sent to {masked_for_seller(verification.phone)}, which is no "
        "longer your "
        f"emergency contact number. Ask for a new code{current}."
    )


def _locked_message(seller: Seller, until: dt.datetime, now: dt.datetime) -> str:
    return (
        "Too many wrong codes: to protect your account, we cannot send or check codes "
        f"until {_at(seller, until, now)}. Then ask for a new code."
    )


def _at(seller: Seller, when: dt.datetime, now: dt.datetime) -> str:
    """``14:35 PDT (in 23 minutes)``: the seller's store time, and how long from now."""
    local = timezone.localtime(when, zoneinfo.ZoneInfo(seller.store.time_zone))
    minutes = max(1, math.ceil((when - now).total_seconds() / 60))
    clock = local.strftime("%H:%M %Z")
    if local.date() != timezone.localtime(now, local.tzinfo).date():
        clock = f"{local.day} {local:%b} {clock}"
    return f"{clock} (in {minutes} minute{'s' if minutes != 1 else ''})"
