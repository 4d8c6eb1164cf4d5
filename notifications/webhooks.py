"""Twilio's requests to us: the call's TwiML and status callbacks (DESIGN.md "Channels").

Every request is checked with the SDK's ``RequestValidator`` against the URL Twilio was
given (``PUBLIC_BASE_URL`` + path), so a proxy in front changes nothing. A missing or
wrong signature gets 403 and changes nothing; without a Twilio auth token every request
is refused, since there is nothing to check it against.

Twilio signs a request's URL and parameters, with no time in it: a replayed request is
valid. Replays are harmless because every handler is idempotent: a status already seen
is not counted again, and a connected call contacts a case once.
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
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from notifications.content import call_script, voice_language
from notifications.models import ContactAttempt
from notifications.services import attempt_connected, attempt_record_status, public_url

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


def _twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


def _call(attempt_id: int) -> ContactAttempt:
    return get_object_or_404(
        ContactAttempt.objects.select_related("case__seller__store", "case__assigned_to"),
        pk=attempt_id,
        channel=ContactAttempt.Channel.CALL,
    )


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
def call_twiml(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """What the seller hears: a voicemail for a machine, else why we call and "press 1"."""
    attempt = _call(attempt_id)
    answered_by = request.POST.get("AnsweredBy", "")
    language = voice_language(attempt)
    response = VoiceResponse()
    if answered_by.startswith("machine"):
        attempt_record_status(
            attempt_id=attempt.pk, status=ContactAttempt.Status.IN_PROGRESS, answered_by=answered_by
        )
        response.say(call_script(attempt, "voicemail"), language=language)
        response.hangup()
        return _twiml(response)
    if answered_by == "fax":
        attempt_record_status(
            attempt_id=attempt.pk, status=ContactAttempt.Status.IN_PROGRESS, answered_by=answered_by
        )
        response.hangup()
        return _twiml(response)
    attempt_record_status(
        attempt_id=attempt.pk,
        status=ContactAttempt.Status.IN_PROGRESS,
        answered_by=answered_by or "human",
    )
    gather = Gather(
        num_digits=1,
        timeout=8,
        action=public_url("notifications:call-gather", attempt.pk),
        method="POST",
    )
    gather.say(call_script(attempt, "intro"), language=language)
    response.append(gather)
    response.say(call_script(attempt, "missed"), language=language)
    return _twiml(response)


def bridge_number(attempt: ContactAttempt) -> str:
    """The assigned specialist's phone, else the desk's line."""
    specialist = (
        getattr(attempt.case.assigned_to, "specialist", None)
        if attempt.case.assigned_to_id
        else None
    )
    if specialist is not None and specialist.phone:
        return str(specialist.phone)
    return settings.AHA_DESK_PHONE


@twilio_signed
def call_gather(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The seller pressed a key: 1 connects them to a specialist."""
    attempt = _call(attempt_id)
    language = voice_language(attempt)
    response = VoiceResponse()
    if request.POST.get("Digits") != "1":
        response.say(call_script(attempt, "missed"), language=language)
        response.hangup()
        return _twiml(response)
    number = bridge_number(attempt)
    if not number:
        response.say(call_script(attempt, "no_specialist"), language=language)
        response.hangup()
        return _twiml(response)
    response.say(call_script(attempt, "connecting"), language=language)
    dial = Dial(
        action=public_url("notifications:call-dial", attempt.pk),
        method="POST",
        caller_id=settings.TWILIO_FROM_NUMBER or None,
        timeout=30,
    )
    dial.number(number, url=public_url("notifications:call-connected", attempt.pk), method="POST")
    response.append(dial)
    return _twiml(response)


@twilio_signed
def call_connected(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The specialist answered: the seller is reached. What the specialist hears first."""
    attempt = _call(attempt_id)
    attempt_connected(attempt_id=attempt.pk)
    response = VoiceResponse()
    response.say(call_script(attempt, "whisper"), language="en-US")
    return _twiml(response)


@twilio_signed
def call_dial_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The bridged call ended; a completed dial is a connection even if the whisper was lost."""
    attempt = _call(attempt_id)
    if request.POST.get("DialCallStatus") in {"completed", "answered"}:
        attempt_connected(attempt_id=attempt.pk)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


@twilio_signed
def call_status(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = _call(attempt_id)
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
    attempt = get_object_or_404(ContactAttempt, pk=attempt_id, channel=ContactAttempt.Channel.SMS)
    status = MESSAGE_STATUSES.get(request.POST.get("MessageStatus", ""))
    if status is None:
        return HttpResponse(status=400, content="Unknown MessageStatus.", content_type="text/plain")
    attempt_record_status(attempt_id=attempt.pk, status=status)
    return HttpResponse(status=204)
