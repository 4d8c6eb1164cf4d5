"""The outreach call as the seller hears it: Twilio's TwiML requests for it.

The rules are in docs/domain.md, "The outreach call".

``notifications`` places the call and takes its status callbacks; this module answers
what the call says, because only the cases side knows why we call: a machine gets a
voicemail, a person hears why we call and "press 1", pressing 1 dials the assigned
specialist (else the desk's line), and the specialist answering makes the case
``contacted`` (``case_call_connected``). Every request is checked by its Twilio
signature (``notifications.webhooks.twilio_signed``).
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from cases.messages import call_script, voice_language
from cases.models import Case
from cases.selectors import outreach_call
from cases.services import case_call_connected
from notifications.models import ContactAttempt
from notifications.services import attempt_record_status, public_url
from notifications.webhooks import twilio_signed


def _twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


class _Call:
    """One outreach call and its case, and the words of its parts."""

    def __init__(self, attempt_id: int) -> None:
        found = outreach_call(attempt_id)
        if found is None:
            raise Http404("No outreach call has this id.")
        self.attempt, self.case = found
        self.voice = voice_language(self.attempt.language)

    def say(self, part: str) -> str:
        return call_script(
            self.case, part, language=self.attempt.language, at=self.attempt.created_at
        )


@twilio_signed
def call_twiml(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """What the seller hears: a voicemail for a machine, else why we call and "press 1"."""
    call = _Call(attempt_id)
    answered_by = request.POST.get("AnsweredBy", "")
    response = VoiceResponse()
    if answered_by.startswith("machine"):
        attempt_record_status(
            attempt_id=attempt_id, status=ContactAttempt.Status.IN_PROGRESS, answered_by=answered_by
        )
        response.say(call.say("voicemail"), language=call.voice)
        response.hangup()
        return _twiml(response)
    if answered_by == "fax":
        attempt_record_status(
            attempt_id=attempt_id, status=ContactAttempt.Status.IN_PROGRESS, answered_by=answered_by
        )
        response.hangup()
        return _twiml(response)
    attempt_record_status(
        attempt_id=attempt_id,
        status=ContactAttempt.Status.IN_PROGRESS,
        answered_by=answered_by or "human",
    )
    gather = Gather(
        num_digits=1,
        timeout=8,
        action=public_url("outreach:call-gather", attempt_id),
        method="POST",
    )
    gather.say(call.say("intro"), language=call.voice)
    response.append(gather)
    response.say(call.say("missed"), language=call.voice)
    return _twiml(response)


def bridge_number(case: Case) -> str:
    """The assigned specialist's phone, else the desk's line."""
    specialist = getattr(case.assigned_to, "specialist", None) if case.assigned_to_id else None
    if specialist is not None and specialist.phone:
        return str(specialist.phone)
    return settings.AHA_DESK_PHONE


@twilio_signed
def call_gather(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The seller pressed a key: 1 connects them to a specialist."""
    call = _Call(attempt_id)
    response = VoiceResponse()
    if request.POST.get("Digits") != "1":
        response.say(call.say("missed"), language=call.voice)
        response.hangup()
        return _twiml(response)
    number = bridge_number(call.case)
    if not number:
        response.say(call.say("no_specialist"), language=call.voice)
        response.hangup()
        return _twiml(response)
    response.say(call.say("connecting"), language=call.voice)
    dial = Dial(
        action=public_url("outreach:call-dial", attempt_id),
        method="POST",
        caller_id=settings.TWILIO_FROM_NUMBER or None,
        timeout=30,
    )
    dial.number(number, url=public_url("outreach:call-connected", attempt_id), method="POST")
    response.append(dial)
    return _twiml(response)


@twilio_signed
def call_connected(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The specialist answered: the seller is reached. What the specialist hears first."""
    call = _Call(attempt_id)
    case_call_connected(attempt_id=attempt_id)
    response = VoiceResponse()
    response.say(call.say("whisper"), language="en-US")
    return _twiml(response)


@twilio_signed
def call_dial_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The bridged call ended; a completed dial is a connection even if the whisper was lost."""
    _Call(attempt_id)
    if request.POST.get("DialCallStatus") in {"completed", "answered"}:
        case_call_connected(attempt_id=attempt_id)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)
