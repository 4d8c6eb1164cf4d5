"""Twilio's requests to us: signature checks, and the status callbacks of calls and texts.

What a call *says* (its TwiML) is answered by the app that made the call, with
:func:`twilio_signed` from here (``cases.calls`` for outreach).

Every request is checked with the SDK's ``RequestValidator`` against the URL Twilio was
given (``PUBLIC_BASE_URL`` + path), so a proxy in front changes nothing. A missing or
wrong signature gets 403 and changes nothing; without a Twilio auth token every request
is refused, since there is nothing to check it against.

Twilio signs a request's URL and parameters, with no time in it: a replayed request is
valid. Replays are harmless because every handler is idempotent: a status already seen
is not counted again, and a connected call is recorded once.
"""

import datetime as dt
import email.utils
import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from notifications.models import ContactAttempt
from notifications.services import attempt_record_status

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def twilio_signed(view: View) -> View:
    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        token = settings.TWILIO_AUTH_TOKEN
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.PUBLIC_BASE_URL + request.get_full_path()
        if (
            not token
            or not signature
            or not RequestValidator(token).validate(url, request.POST, signature)
        ):
            logger.warning(
                "Refused a Twilio webhook with a missing or wrong signature: %s", request.path
            )
            return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
        return view(request, *args, **kwargs)

    return checked


def _attempt(attempt_id: int, channel: str) -> ContactAttempt:
    return get_object_or_404(ContactAttempt, pk=attempt_id, channel=channel)


def _reported_at(request: HttpRequest) -> dt.datetime | None:
    """Twilio's ``Timestamp`` (RFC 2822) of a status callback, when it sends one."""
    raw = request.POST.get("Timestamp")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


@twilio_signed
def call_status(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(attempt_id, ContactAttempt.Channel.CALL)
    status = request.POST.get("CallStatus", "")
    if status not in ContactAttempt.RANK:
        return HttpResponse(
            status=400, content=f"Unknown CallStatus {status!r}.", content_type="text/plain"
        )
    attempt_record_status(
        attempt_id=attempt.pk,
        status=status,
        at=_reported_at(request),
        answered_by=request.POST.get("AnsweredBy", ""),
    )
    return HttpResponse(status=204)


# Twilio's message statuses, as ours: "sending" is still on its way (queued).
MESSAGE_STATUSES = {
    "accepted": ContactAttempt.Status.QUEUED,
    "queued": ContactAttempt.Status.QUEUED,
    "sending": ContactAttempt.Status.QUEUED,
    "sent": ContactAttempt.Status.SENT,
    "delivered": ContactAttempt.Status.DELIVERED,
    "undelivered": ContactAttempt.Status.UNDELIVERED,
    "failed": ContactAttempt.Status.FAILED,
}


@twilio_signed
def sms_status(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(attempt_id, ContactAttempt.Channel.SMS)
    status = MESSAGE_STATUSES.get(request.POST.get("MessageStatus", ""))
    if status is None:
        return HttpResponse(status=400, content="Unknown MessageStatus.", content_type="text/plain")
    attempt_record_status(attempt_id=attempt.pk, status=status)
    return HttpResponse(status=204)
