"""Twilio's requests to us: signature checks, and the status callbacks of calls and texts.

What a call *says* (its TwiML) is answered by the app that made the call, with
:func:`twilio_signed` from here (``cases.calls`` for outreach).

Every request is checked with the SDK's ``RequestValidator`` against the URL Twilio was
given (``PUBLIC_BASE_URL`` + path), so a proxy in front changes nothing. A missing or
wrong signature gets 403 and changes nothing, whatever the body's size (a body too large
to read within Django's limits cannot be verified, so it is refused alike); without a
Twilio auth token every request is refused, since there is nothing to check it against.

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
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
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
        if not token or not signature or not _signature_valid(request, token, signature):
            logger.warning(
                "Refused a Twilio webhook with a missing or wrong signature: %s", request.path
            )
            return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
        return view(request, *args, **kwargs)

    return checked


def _signature_valid(request: HttpRequest, token: str, signature: str) -> bool:
    """Whether Twilio signed this request. The body is read only here, after the header
    and the token are known to be there: a request without them is refused unread.

    A body over Django's limits (``DATA_UPLOAD_MAX_MEMORY_SIZE``,
    ``DATA_UPLOAD_MAX_NUMBER_FIELDS``) cannot be verified without reading it past them,
    so it is refused as not signed (403) too; Twilio's callbacks are a few hundred bytes.
    """
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    try:
        params = request.POST
    except (RequestDataTooBig, TooManyFieldsSent):
        return False
    return RequestValidator(token).validate(url, params, signature)


def _attempt(attempt_id: int, channel: str) -> ContactAttempt:
    return get_object_or_404(ContactAttempt, pk=attempt_id, channel=channel)


def _reported_at(request: HttpRequest) -> dt.datetime | None:
    """Twilio's ``Timestamp`` (RFC 2822) of a status callback, when it sends one readably.

    A zone of ``-0000`` ("not known", RFC 2822) is read as UTC. Whether the time is
    believable is ``attempt_record_status``'s to judge.
    """
    raw = request.POST.get("Timestamp")
    if not raw:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
